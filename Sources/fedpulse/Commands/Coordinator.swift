import ArgumentParser
import Federation
import Foundation
import Learning
import Rounds
import Runtime
import Wire

extension FedPulse {
    /// The coordinator role.
    struct Coordinator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the coordinator: check-ins, cohorts, round broadcasts, checkpoints.",
            discussion: """
                Binds the broadcast PUB (round.open, round.summary, run.end) and the control PULL \
                (checkin, aggregator.hello, model.candidate). Each round it samples a cohort of \
                eligible workers (under --dp the devices sample themselves with the sampling \
                rate and round.open lists only each shard's eligible population), assigns each \
                worker to a live shard of its device class by rendezvous hashing, publishes the \
                model until the deadline, then evaluates and checkpoints the model the registered \
                global aggregator returns. Restarted with the same --state-dir it resumes at the \
                first round not yet completed; under --dp a --state-dir is required.
                """
        )

        @Option(help: "Endpoint the broadcast PUB socket binds.")
        var broadcast: String = "tcp://127.0.0.1:7001"

        @Option(help: "Endpoint the control PULL socket binds.")
        var control: String = "tcp://127.0.0.1:7002"

        @Option(help: "Rounds to complete before the run ends.")
        var rounds: Int = 10

        @OptionGroup var learning: LearningOptions
        @OptionGroup var dataSpec: DataSpecOptions

        @Option(help: "Select exactly this many eligible workers per round (default: all of them).")
        var cohortSize: Int?

        @Option(help: "Poisson-sample each eligible worker with this probability instead.")
        var samplingRate: Double?

        @Option(help: "Fewest contributing workers for a round to count; fewer means the round is retried.")
        var minParticipants: Int = 1

        @Option(help: "Workers that must have checked in before the first round opens (waits up to 60 s).")
        var waitForWorkers: Int = 1

        @Option(help: "Milliseconds a round stays open for updates.")
        var roundTimeoutMs: Int64 = 5_000

        @Option(help: "Milliseconds without a check-in after which a worker is no longer selectable.")
        var workerTimeoutMs: Int64 = 10_000

        @Option(help: "Milliseconds without a heartbeat after which an aggregator shard is dropped from assignments.")
        var aggregatorTimeoutMs: Int64 = 3_000

        @Option(help: "Milliseconds between re-publications of an open round (for late subscribers).")
        var republishMs: Int64 = 200

        @Option(help: "Local epochs per round.")
        var epochs: Int = 2

        @Option(help: "Local minibatch size.")
        var batchSize: Int = 16

        @Option(help: "Local learning rate.")
        var learningRate: Double = 0.1

        @Option(help: "L2 regularisation strength.")
        var l2: Double = 1e-4

        @Option(help: "FedProx proximal term μ (0 turns it off).")
        var proxMu: Double = 0

        @Option(help: "Directory for the atomic checkpoint; a restart with the same directory resumes.")
        var stateDir: String?

        @Option(help: "Central hold-out: synthetic (simulation), none, or a CSV file.")
        var holdout: String = "synthetic"

        @Option(help: "Synthetic users in the central hold-out.")
        var holdoutUsers: Int = 60

        @Option(
            help:
                "Feature scaling: fixed (documented physiological ranges) or federated (a statistics round first: means and variances from per-device sums, never records)."
        )
        var featureStatistics: String = "fixed"

        @Option(help: "Stop early once the hold-out accuracy reaches this value.")
        var targetAccuracy: Double?

        @Option(help: "Most workers the coordinator keeps track of; check-ins from new ids past it are refused.")
        var maxWorkers: Int = 100_000

        @Option(help: "Auditor denies in a row (other than for the spent budget) after which the run ends.")
        var maxDenies: Int = 5

        @Option(
            help: """
                Update encoding announced in every training round: f32, q8, q4, topk:F, randk:F, \
                comma-joined with rotate (e.g. topk:0.1,q8 or randk:0.1,q8,rotate). q8/q4 round \
                stochastically on a range shared by the cohort (C under DP); topk keeps its residual \
                on the device (error feedback); all but topk stay linear (compose with secure aggregation).
                """
        )
        var compression: String = "f32"

        @Option(
            help: "Quantization range R without DP (default: the clip norm, else 1); under DP it is derived from C."
        )
        var compressionRange: Double?

        @OptionGroup var secureAggregation: SecureAggregationOptions
        @OptionGroup var privacy: PrivacyOptions
        @OptionGroup var common: CommonOptions
        @OptionGroup var security: SecurityOptions

        func validate() throws {
            if let problem = privacy.skellamProblem(secureAggregation: secureAggregation.secureAggregation) {
                throw ValidationError(problem)
            }
            // Skellam's noise is μ on the devices: a Gaussian z (given or calibrated) would be
            // proposed beside it and mean nothing.
            if privacy.placement == .skellam, privacy.noiseMultiplier != nil || privacy.targetEpsilon != nil {
                throw ValidationError(
                    "--dp skellam takes --skellam-variance μ (plan it with `fedpulse privacy skellam --target-epsilon`), not --noise-multiplier or --target-epsilon"
                )
            }
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            if let cohortSize, cohortSize < 1 { throw ValidationError("--cohort-size must be at least 1") }
            if let samplingRate, !(samplingRate > 0 && samplingRate <= 1) {
                throw ValidationError("--sampling-rate must be in (0, 1]")
            }
            guard cohortSize == nil || samplingRate == nil else {
                throw ValidationError("give --cohort-size or --sampling-rate, not both")
            }
            guard ["fixed", "federated"].contains(featureStatistics) else {
                throw ValidationError("--feature-statistics must be fixed or federated")
            }
            if featureStatistics == "federated" && privacy.placement != .off {
                throw ValidationError(
                    "--feature-statistics federated is not differentially private yet; use fixed ranges with --dp"
                )
            }
            if privacy.placement != .off {
                guard cohortSize == nil else {
                    throw ValidationError(
                        "--cohort-size is refused under --dp: a fixed-size cohort is sampling without replacement, which needs another accountant than the auditor's Poisson one; use --sampling-rate"
                    )
                }
                guard stateDir != nil else {
                    throw ValidationError(
                        "--dp \(privacy.dp) needs --state-dir: without a checkpoint a restarted coordinator would re-run rounds against the same privacy ledger"
                    )
                }
            }
            switch CompressionChoice.parse(compression) {
            case .failure(let error): throw ValidationError(error.description)
            case .success(let choice):
                if let problem = CoordinatorConfig.compressionProblem(privacy: privacy.settings, compression: choice) {
                    throw ValidationError(problem)
                }
            }
            if let compressionRange, !(compressionRange > 0 && compressionRange <= 1e6) {
                throw ValidationError("--compression-range must be in (0, 1e6]")
            }
            try secureAggregation.check(
                compression: compression,
                placement: privacy.placement,
                participationCap: privacy.participationCap
            )
            guard maxWorkers >= 1, maxDenies >= 1 else {
                throw ValidationError("--max-workers and --max-denies must be at least 1")
            }
            guard minParticipants >= 1 else { throw ValidationError("--min-participants must be at least 1") }
            guard roundTimeoutMs >= 100 else { throw ValidationError("--round-timeout-ms must be at least 100") }
            guard epochs >= 1, batchSize >= 1, learningRate > 0, l2 >= 0, proxMu >= 0 else {
                throw ValidationError(
                    "--epochs and --batch-size must be ≥ 1, --learning-rate > 0, --l2 and --prox-mu ≥ 0"
                )
            }
        }

        /// The round's Skellam numbers under `--dp skellam` for a model of `parameterCount`
        /// values (no rotation), nil otherwise; a usage error when the value bits cannot hold
        /// γ·C plus the noise tail.
        func skellamSettings(parameterCount: Int) throws -> SkellamSettings? {
            guard privacy.placement == .skellam, let clip = privacy.clip else { return nil }
            guard let settings = privacy.skellam.settings(clipNorm: clip, dimension: parameterCount) else {
                throw ValidationError(
                    "--dp skellam: γ·C plus the noise tail of μ does not fit --skellam-value-bits for \(parameterCount) parameters"
                )
            }
            return settings
        }

        func run() async throws {
            let spec = try dataSpec.spec(learning: learning)
            var config = CoordinatorConfig(spec: spec)
            config.broadcastEndpoint = broadcast
            config.controlEndpoint = control
            config.rounds = rounds
            config.seed = learning.seed
            config.sampling = cohortSize.map { .fixedSize($0) } ?? samplingRate.map { .poisson(rate: $0) } ?? .all
            config.minParticipants = minParticipants
            config.waitForWorkers = waitForWorkers
            config.roundTimeoutMillis = roundTimeoutMs
            config.workerTimeoutMillis = workerTimeoutMs
            config.aggregatorTimeoutMillis = aggregatorTimeoutMs
            config.republishIntervalMillis = republishMs
            config.training = TrainingSettings(
                epochs: epochs,
                batchSize: batchSize,
                learningRate: learningRate,
                l2: l2,
                proxMu: proxMu
            )
            config.stateDirectory = stateDir
            config.privacy = privacy.settings
            config.targetEpsilon = privacy.targetEpsilon
            config.delta = privacy.delta
            config.participationCap = privacy.participationCap
            config.auditorEvents = privacy.auditorEvents
            config.auditorLedger = privacy.auditorLedger
            config.targetAccuracy = targetAccuracy
            config.featureStatistics = try dataSpec.federatedStatistics(
                requested: featureStatistics,
                privateRun: privacy.placement != .off
            )
            config.maxWorkers = maxWorkers
            config.maxDenies = maxDenies
            // Under secure aggregation q8/q4 are the masked values' bits; no plain encoding is announced.
            config.compression =
                secureAggregation.secureAggregation ? .none : (try? CompressionChoice.parse(compression).get()) ?? .none
            config.compressionRange = compressionRange
            config.round.secureAggregation = secureAggregation.settings(
                compression: compression,
                clipNorm: privacy.settings.clipNorm,
                roundTimeoutMillis: roundTimeoutMs,
                skellam: try skellamSettings(parameterCount: spec.parameterCount)
            )
            switch holdout {
            case "none": config.holdout = nil
            case "synthetic":
                config.holdout = try learning.generator().centralHoldOutRecords(
                    users: holdoutUsers,
                    recordsPerUser: 30,
                    spec: spec
                )
            default: config.holdout = try CSVDeviceData.load(path: holdout, spec: spec, holdOutFraction: 0).train
            }
            config.security = try security.make()
            // What needs the model's size (known only now) is refused before anything starts.
            if let problem = config.misconfiguration { throw ValidationError(problem) }
            let frozen = config
            try await common.run(role: "coordinator", transport: frozen.security) { control, logger in
                try CoordinatorRole(config: frozen, logger: logger).run(control)
            }
        }
    }
}
