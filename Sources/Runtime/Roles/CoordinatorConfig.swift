public import Learning
import Rounds
public import Wire

/// Everything a coordinator needs to run, gathered by the CLI from flags and `FEDPULSE_*` variables.
public struct CoordinatorConfig: Sendable {
    public var id = "coordinator"
    /// Where the PUB socket for `round.open`, `round.summary` and `run.end` binds.
    public var broadcastEndpoint = "tcp://127.0.0.1:7001"
    /// Where the PULL socket for check-ins, heartbeats and model candidates binds.
    public var controlEndpoint = "tcp://127.0.0.1:7002"
    /// The auditor's events PULL and ledger PUB; when unset, rounds need no approval (DP off only).
    public var auditorEvents: String?
    public var auditorLedger: String?
    public var rounds = 10
    public var spec: ModelSpec
    public var seed: UInt64 = 1
    public var sampling: CohortSamplingSetting = .all
    public var minParticipants = 1
    /// Workers that must have checked in before the first round opens (the demo knows how many).
    public var waitForWorkers = 1
    public var roundTimeoutMillis: Int64 = 5_000
    public var republishIntervalMillis: Int64 = 200
    public var workerTimeoutMillis: Int64 = 10_000
    public var aggregatorTimeoutMillis: Int64 = 3_000
    public var training = TrainingSettings(epochs: 2, batchSize: 16, learningRate: 0.1, l2: 1e-4, proxMu: 0)
    /// Placement, clip norm and noise multiplier; the expected cohort is filled in each round.
    public var privacy = PrivacySettings(placement: .off, clipNorm: nil, noiseMultiplier: 0, expectedCohort: 1)
    /// Calibrate the noise multiplier once, at the first round, so that `rounds` rounds at the
    /// then-known sampling rate spend at most this ε at `delta` (RDP).
    public var targetEpsilon: Double?
    public var delta = 1e-5
    /// How often one device may be selected in this run (nil: no cap).
    public var participationCap: Int?
    public var stateDirectory: String?
    /// A central hold-out set to evaluate each new model on (simulation or a `test.csv`).
    /// Unscaled, so that it can be scaled by whatever spec the run has reached.
    public var holdout: RawRecords?
    /// Run a statistics round first: workers send per-feature sums of x, x² and counts, and the
    /// spec's scaling becomes the federated means and standard deviations (for CSV data, whose
    /// ranges are not known in advance).
    public var featureStatistics = false
    public var targetAccuracy: Double?
    /// Most workers the registry holds; new ids past it are refused (`bufferFull`).
    public var maxWorkers = 100_000
    /// Consecutive auditor denies (not for the budget) after which the run ends.
    public var maxDenies = 5

    public init(spec: ModelSpec) {
        self.spec = spec
    }

    /// Why this configuration must not run, in a sentence a user can act on; nil when it may.
    ///
    /// Under DP a coordinator without a state directory would start again at round 1 after a
    /// restart and re-run rounds against the same ledger; fixed-size cohorts are sampling without
    /// replacement, which the auditor's Poisson accountant does not cover.
    public var misconfiguration: String? {
        guard privacy.placement != .off else { return nil }
        if stateDirectory == nil {
            return
                "--dp \(privacy.placement.rawValue) needs --state-dir: without a checkpoint a restarted coordinator would re-run rounds against the same privacy ledger"
        }
        if case .fixedSize = sampling {
            return
                "--cohort-size is refused under --dp: a fixed-size cohort is sampling without replacement, which needs another accountant than the auditor's Poisson one; use --sampling-rate"
        }
        if auditorEvents == nil || auditorLedger == nil {
            return "--dp \(privacy.placement.rawValue) needs an auditor: --auditor-events and --auditor-ledger"
        }
        return nil
    }

    /// The round state machine's share of the configuration.
    var settings: CoordinatorSettings {
        var settings = CoordinatorSettings()
        settings.id = id
        settings.rounds = rounds
        settings.seed = seed
        switch sampling {
        case .all: settings.cohort = .all
        case .fixedSize(let size): settings.cohort = .fixedSize(size)
        case .poisson(let rate): settings.cohort = .poisson(rate: rate)
        }
        settings.minParticipants = minParticipants
        settings.waitForWorkers = waitForWorkers
        settings.roundTimeoutMillis = roundTimeoutMillis
        settings.republishIntervalMillis = republishIntervalMillis
        settings.workerTimeoutMillis = workerTimeoutMillis
        settings.aggregatorTimeoutMillis = aggregatorTimeoutMillis
        settings.training = training
        settings.privacy = privacy
        settings.targetEpsilon = targetEpsilon
        settings.delta = delta
        settings.participationCap = participationCap
        settings.hasAuditor = auditorEvents != nil && auditorLedger != nil
        settings.holdout = holdout
        settings.featureStatistics = featureStatistics
        settings.targetAccuracy = targetAccuracy
        settings.maxWorkers = maxWorkers
        settings.maxDenies = maxDenies
        return settings
    }
}

/// How the CLI names a cohort rule; resolved against the live population each round.
public enum CohortSamplingSetting: Sendable, Equatable {
    /// Every eligible worker.
    case all
    case fixedSize(Int)
    case poisson(rate: Double)
}
