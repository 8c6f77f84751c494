import ArgumentParser
import Federation
import Foundation
import Learning
import Runtime
import ServiceLifecycle
import Synchronization
import UnixSignals
import Wire

extension FedPulse {
    /// The whole hierarchy on this machine, as real processes over loopback.
    struct Demo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the whole hierarchy on this machine as separate processes, with synthetic wearable data or your CSV exports.",
            discussion: """
                Starts the coordinator, the global aggregator, one regional aggregator per device \
                class and edge processes hosting the virtual devices, all over loopback; prints a \
                line per round and a final table against the centralised baseline, and leaves a \
                report folder (logs of every process, metrics.csv, summary.json, index.html). \
                With --data-dir the model is built from the exports' header: every numeric column \
                but the label is a feature (or --features), the classes come from test.csv (or \
                --classes), two classes train logistic regression and more softmax (or --model). \
                If any process exits with an error, the demo stops the others and prints its last \
                error line and log.
                """
        )

        @Option(help: "Rounds to train.")
        var rounds: Int = 10

        @Option(help: "Virtual devices per device class (watch, phone, tablet).")
        var devicesPerClass: Int = 40

        @Option(help: "Most virtual devices one edge process hosts.")
        var devicesPerProcess: Int = 100

        @Option(help: "Regional aggregators (shards) per device class; a class's devices are spread over them.")
        var shardsPerClass: Int = 1

        @OptionGroup var learning: LearningOptions

        @Option(
            help:
                "Use real data: every *.csv in DIR except test.csv is one device (classes in turn by sorted name); test.csv is the hold-out."
        )
        var dataDir: String?

        @OptionGroup var dataSpec: DataSpecOptions

        @Option(
            help:
                "Feature scaling with --data-dir: federated (a statistics round; the default without DP) or holdout (test.csv's means and deviations; the default under DP)."
        )
        var scaling: String?

        @Option(help: "Report folder: logs, metrics.csv, summary.json, index.html.")
        var reportDir: String = "./fedpulse-demo"

        @Option(help: "Also write the summary JSON here.")
        var summaryJson: String?

        @Option(
            help:
                "Differential privacy: central, distributed, local, skellam (integer noise on the devices, needs --secure-aggregation) or off (off runs without the auditor)."
        )
        var dp: String = "central"

        @Option(help: "L2 clip norm C of each update.")
        var clip: Double = 0.5

        @Option(help: "Noise multiplier z (default: calibrated from --target-epsilon).")
        var noiseMultiplier: Double?

        @Option(
            help: "Calibrate z so that all rounds spend at most this ε (used when --noise-multiplier is not given)."
        )
        var targetEpsilon: Double = 6

        @Option(help: "Poisson sampling rate q of each round's cohort under DP.")
        var samplingRate: Double = 0.5

        @Option(help: "The auditor's ε budget: a round that would exceed it is denied and training stops.")
        var epsilonBudget: Double = 8

        @Option(help: "δ of the (ε, δ) guarantee.")
        var delta: Double = 1e-5

        @Flag(inversion: .prefixedNo, help: "Also run the same federation without DP and show both accuracies.")
        var compareNonPrivate = true

        @Flag(
            help:
                "Run without CURVE (no encryption, no authentication); by default every process gets throwaway keys in REPORT/keys."
        )
        var insecure = false

        @Option(help: "Milliseconds a round stays open for updates.")
        var roundTimeoutMs: Int64 = 5_000

        @Option(help: "Local epochs per round (the centralised baseline gets rounds × epochs).")
        var epochs: Int = 5

        @Option(help: "Local learning rate.")
        var learningRate: Double = 0.3

        @Option(help: "Local minibatch size.")
        var batchSize: Int = 16

        @Option(
            help:
                "Update encoding: f32, q8, q4, topk:F, randk:F, optionally with ,rotate (see `fedpulse coordinator --help`)."
        )
        var compression: String = "f32"

        @OptionGroup var secureAggregation: SecureAggregationOptions

        @OptionGroup var skellam: SkellamOptions

        func validate() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            guard devicesPerClass >= 1, devicesPerProcess >= 1 else {
                throw ValidationError("--devices-per-class and --devices-per-process must be at least 1")
            }
            guard (1...64).contains(shardsPerClass) else { throw ValidationError("--shards-per-class must be 1…64") }
            guard ["central", "distributed", "local", "skellam", "off"].contains(dp) else {
                throw ValidationError("--dp must be central, distributed, local, skellam or off")
            }
            if dp == "skellam" {
                guard secureAggregation.secureAggregation else {
                    throw ValidationError(
                        "--dp skellam adds integer noise that protects a device only inside a secure-aggregated sum: add --secure-aggregation"
                    )
                }
                guard noiseMultiplier == nil else {
                    throw ValidationError(
                        "--dp skellam takes --skellam-variance (or --target-epsilon), not --noise-multiplier"
                    )
                }
            } else if skellam.isGiven {
                throw ValidationError("--skellam-* options need --dp skellam")
            }
            guard clip > 0, samplingRate > 0, samplingRate <= 1, epsilonBudget > 0, targetEpsilon > 0, delta > 0,
                delta < 1
            else {
                throw ValidationError(
                    "--clip, --epsilon-budget and --target-epsilon must be > 0, --sampling-rate in (0, 1], --delta in (0, 1)"
                )
            }
            if let dataDir {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: dataDir, isDirectory: &isDirectory), isDirectory.boolValue
                else {
                    throw ValidationError("--data-dir \(dataDir) is not a directory")
                }
            } else if dataSpec.isGiven || scaling != nil {
                throw ValidationError(
                    "--spec, --features, --label-column, --classes and --scaling describe CSV data: give --data-dir too"
                )
            }
            if let scaling, !["federated", "holdout"].contains(scaling) {
                throw ValidationError("--scaling must be federated or holdout")
            }
            try secureAggregation.check(
                compression: compression,
                placement: NoisePlacement(rawValue: dp) ?? .off,
                participationCap: nil
            )
            if scaling == "federated" && dp != "off" {
                throw ValidationError(
                    "--scaling federated is not differentially private yet; use --dp off or --scaling holdout"
                )
            }
            if let problem = compressionProblem(parameterCount: nil) { throw ValidationError(problem) }
        }

        /// What the demo's coordinator would refuse about its privacy and compression, checked
        /// before any process starts (the model's size is known only once its spec is built).
        func compressionProblem(parameterCount: Int?) -> String? {
            guard case .success(let choice) = CompressionChoice.parse(compression) else { return nil }
            let privacy = PrivacySettings(
                placement: NoisePlacement(rawValue: dp) ?? .off,
                clipNorm: clip,
                noiseMultiplier: noiseMultiplier ?? 0,
                expectedCohort: 1
            )
            return CoordinatorConfig.compressionProblem(
                privacy: privacy,
                compression: secureAggregation.secureAggregation ? .none : choice,
                secureAggregation: secureAggregation.settings(
                    compression: compression,
                    clipNorm: clip,
                    roundTimeoutMillis: roundTimeoutMs
                ),
                parameterCount: parameterCount
            )
        }

        func run() async throws {
            let data = try dataDir.map {
                try DemoData(directory: $0, options: dataSpec, learning: learning, scaling: scaling, dp: dp)
            }
            let spec = try data?.spec ?? learning.spec()
            if let problem = compressionProblem(parameterCount: spec.parameterCount) { throw ValidationError(problem) }
            let executable = URL(
                fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                    ?? CommandLine.arguments[0]
            )
            var config = DemoConfig(
                executable: executable,
                reportDirectory: URL(fileURLWithPath: reportDir, isDirectory: true),
                spec: spec,
                generator: learning.generator()
            )
            config.rounds = rounds
            config.devicesPerClass = devicesPerClass
            config.devicesPerEdgeProcess = devicesPerProcess
            config.shardsPerClass = shardsPerClass
            config.seed = learning.seed
            config.roundTimeoutMillis = roundTimeoutMs
            config.insecure = insecure
            config.dataDirectory = dataDir.map { URL(fileURLWithPath: $0, isDirectory: true) }
            config.summaryJSON = summaryJson.map { URL(fileURLWithPath: $0) }
            config.scaling = data?.scaling
            config.dataSource = data?.summary
            config.learningArguments = learning.passThrough
            config.training = TrainingConfig(
                learningRate: Float(learningRate),
                localEpochs: epochs,
                batchSize: batchSize
            )
            let skellamNumbers = dp == "skellam" ? try skellamNumbers(dimension: spec.parameterCount) : nil
            let skellamArguments = skellamNumbers.map { Self.skellamArguments($0, options: skellam) } ?? []
            config.coordinatorArguments =
                [
                    "--epochs", "\(epochs)", "--learning-rate", "\(learningRate)", "--batch-size", "\(batchSize)",
                    "--compression", compression,
                ] + secureAggregation.arguments
            let plainArguments = config.coordinatorArguments
            config.coordinatorArguments += skellamArguments
            if dp != "off" {
                config.privacy = DemoPrivacy(
                    placement: dp,
                    clipNorm: clip,
                    noiseMultiplier: noiseMultiplier,
                    // Skellam's ε comes from μ (calibrated below to the target), not from a z.
                    targetEpsilon: noiseMultiplier == nil && dp != "skellam" ? targetEpsilon : nil,
                    samplingRate: samplingRate,
                    epsilonBudget: epsilonBudget,
                    delta: delta
                )
            }
            let privacyText =
                dp == "off"
                ? "no DP" : "DP \(dp), C = \(clip), q = \(samplingRate), budget ε = \(epsilonBudget) at δ = \(delta)"
            if let summary = data?.summary {
                print(
                    "FedPulse demo: \(summary.deviceFiles) devices from \(dataDir ?? ""), \(rounds) rounds, \(privacyText); report in \(reportDir)"
                )
                for line in summary.lines { print(line) }
            } else {
                print(
                    "FedPulse demo: \(devicesPerClass) devices per class × 3 classes, \(rounds) rounds, task \(learning.task), \(privacyText); report in \(reportDir)"
                )
            }
            print("scaling     \(config.effectiveScaling.explanation)")
            if let skellamNumbers {
                print(
                    "aggregation SecAgg+ in every shard, Skellam noise on the devices: γ \(skellamNumbers.scale), μ \(skellamNumbers.variance) per coordinate, no shard releases a sum of fewer than \(skellamNumbers.survivors); ε is charged at the survivors each shard counted"
                )
            } else if secureAggregation.secureAggregation {
                print(
                    "aggregation SecAgg+ in every shard: \(secureAggregation.valueBits(compression: compression))-bit values, dropout rate \(secureAggregation.secaggDropoutRate), corrupt rate \(secureAggregation.secaggCorruptRate); a shard sees only the survivors' sum"
                )
            }
            print(
                insecure
                    ? "transport   INSECURE: no encryption, no authentication (--insecure)"
                    : "transport   CURVE on every socket; only the keys enrolled in \(reportDir)/keys/enrolment.txt are admitted"
            )
            guard var outcome = try await runUntilDone(config) else { throw ExitCode.failure }
            if let failure = outcome.failure {
                print("\nerror: \(failure)")
                print("the demo stopped every other process; logs of all of them are in \(reportDir)/logs")
                throw ExitCode(3)
            }
            if config.privacy != nil && compareNonPrivate && outcome.endReason != "stopped" {
                print("\nThe same federation without DP, for comparison:")
                var plain = config
                plain.privacy = nil
                plain.coordinatorArguments = plainArguments
                plain.reportDirectory = config.reportDirectory.appendingPathComponent("non-private")
                let comparison = try await runUntilDone(plain)
                if let failure = comparison?.failure {
                    print("\nerror: \(failure)")
                    throw ExitCode(3)
                }
                outcome.nonPrivateFinalAccuracy = comparison?.finalAccuracy
                try DemoRun(config: config).writeReport(outcome)
            }
            printTable(outcome)
            guard outcome.endReason == "roundLimit" || outcome.endReason == "targetReached" else {
                print("the run did not finish normally (\(outcome.endReason)); see \(reportDir)/logs")
                throw ExitCode(2)
            }
        }

        /// Runs one hierarchy on its own thread; SIGINT/SIGTERM stop it and every child.
        private func runUntilDone(_ config: DemoConfig) async throws -> DemoOutcome? {
            let runner = try RoleRunner()
            let result = OutcomeBox()
            runner.start(name: "demo") { control in
                result.set(try DemoRun(config: config).run(stopWhen: control))
            }
            let signals = await UnixSignalsSequence(trapping: [.sigint, .sigterm])
            let watcher = Task {
                for await _ in signals {
                    print("\nstopping: asking every process to shut down")
                    runner.requestStop()
                }
            }
            defer { watcher.cancel() }
            try await runner.waitUntilFinished()
            return result.value
        }

        private func printTable(_ outcome: DemoOutcome) {
            func percent(_ value: Double?) -> String {
                value.map { String(format: "%6.2f %%", $0 * 100) } ?? "     n/a"
            }
            let bytesUp = outcome.rounds.reduce(0) { $0 + $1.bytesUp }
            let bytesDown = outcome.rounds.reduce(0) { $0 + $1.bytesDown }
            print("")
            print("                         accuracy")
            print(
                "federated (\(outcome.rounds.count) rounds)".padding(toLength: 24, withPad: " ", startingAt: 0)
                    + percent(outcome.finalAccuracy)
            )
            if outcome.nonPrivateFinalAccuracy != nil {
                print("federated without DP    " + percent(outcome.nonPrivateFinalAccuracy))
            }
            print(
                "centralised baseline    " + percent(outcome.centralizedAccuracy)
                    + (outcome.dataSource == nil ? "" : " (union of the device files, for comparison only)")
            )
            if let privacy = outcome.privacy {
                print(
                    String(
                        format: "privacy spent           ε = %.4f at δ = %g, budget %.2f",
                        privacy.epsilon,
                        privacy.delta,
                        privacy.budget
                    ) + " (\(privacy.accountant))"
                )
                print(
                    "ledger                  \(privacy.ledger) (\(privacy.ledgerVerified ? "chain verified" : "CHAIN BROKEN"))"
                )
            }
            if let federated = outcome.finalAccuracy, let central = outcome.centralizedAccuracy {
                print(String(format: "gap to centralised      %+6.2f points", (federated - central) * 100))
            }
            if let rows = outcome.dataSource?.rowsPerDevice {
                print("rows per device         min \(rows.minimum), median \(rows.median), max \(rows.maximum)")
            }
            print("scaling                 \(outcome.scaling ?? "?")")
            print("transport               \(outcome.transport == "curve" ? "CURVE, enrolled keys only" : "INSECURE")")
            let secured = outcome.rounds.filter { !($0.secureAggregation ?? []).isEmpty }
            if secureAggregation.secureAggregation || !secured.isEmpty {
                print("secure aggregation      \(secured.count) of \(outcome.rounds.count) rounds (SecAgg+ per shard)")
                for record in secured {
                    print(
                        "  round \(record.round)".padding(toLength: 24, withPad: " ", startingAt: 0)
                            + SecureAggregationRecord.summary(record.secureAggregation)
                    )
                }
            }
            print("processes               \(outcome.processes + 1) (the demo itself included)")
            print("bytes moved             \(bytesUp) up, \(bytesDown) down")
            if let ratio = outcome.bytesUpToF32, !outcome.rounds.isEmpty, secureAggregation.secureAggregation {
                print(
                    "bytes up per round      \(bytesUp / outcome.rounds.count) (SecAgg+): "
                        + String(format: "%.2f× the plain f32 updates (keys, sealed shares, masked vectors)", ratio)
                )
            } else if let ratio = outcome.bytesUpToF32, !outcome.rounds.isEmpty {
                print(
                    "bytes up per round      \(bytesUp / outcome.rounds.count) (--compression \(compression)): "
                        + String(format: "%.2f× the same updates as f32, %.2f× fewer", ratio, 1 / ratio)
                )
            }
            print("report                  \(outcome.reportDirectory)/index.html")
        }
    }
}

/// Hands the demo's outcome from its thread back to the command.
final class OutcomeBox: Sendable {
    private let storage = Mutex<DemoOutcome?>(nil)
    func set(_ outcome: DemoOutcome) { storage.withLock { $0 = outcome } }
    var value: DemoOutcome? { storage.withLock { $0 } }
}
