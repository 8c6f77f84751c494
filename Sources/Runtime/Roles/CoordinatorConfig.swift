public import Learning
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

    public init(spec: ModelSpec) {
        self.spec = spec
    }
}

/// How the CLI names a cohort rule; resolved against the live population each round.
public enum CohortSamplingSetting: Sendable, Equatable {
    /// Every eligible worker.
    case all
    case fixedSize(Int)
    case poisson(rate: Double)
}
