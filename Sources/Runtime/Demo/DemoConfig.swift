public import Foundation
public import Learning
public import Wire

/// A whole hierarchy on this machine: what the demo (and the end-to-end tests) start.
public struct DemoConfig: Sendable {
    /// The `fedpulse` binary to start the roles with (normally this very executable).
    public var executable: URL
    public var reportDirectory: URL
    public var rounds = 10
    public var devicesPerClass = 4
    /// Virtual devices one edge process hosts at most; more devices mean more edge processes.
    public var devicesPerEdgeProcess = 100
    /// Regional aggregator processes per device class; the coordinator spreads each class's
    /// devices over them (under secure aggregation, one SecAgg+ instance per shard).
    public var shardsPerClass = 1
    /// Flags passed to the coordinator and every edge process (task, model, seed, data knobs).
    public var learningArguments: [String] = []
    public var seed: UInt64 = 7
    public var roundTimeoutMillis: Int64 = 5_000
    /// Extra coordinator flags (cohort size, epochs, learning rate, privacy …).
    public var coordinatorArguments: [String] = []
    /// One CSV per device, assigned to the classes in turn; `test.csv` is the hold-out.
    public var dataDirectory: URL?
    public var summaryJSON: URL?
    /// The model spec and generator the baseline is trained with (the same the roles use).
    public var spec: ModelSpec
    public var generator: SyntheticWearables
    public var training = TrainingConfig()
    /// Differential privacy of the run; `nil` runs without an auditor and without noise.
    public var privacy: DemoPrivacy?
    /// How features are scaled; nil: federated statistics for a private-off run over a data
    /// directory, the spec's own constants otherwise.
    public var scaling: DemoScaling?
    /// What the data directory holds and how the spec was built from it, for the report.
    public var dataSource: DataSourceSummary?
    /// Extra flags for one child by name (`edge-watch-0`): tests break one role on purpose.
    public var childArguments: [String: [String]] = [:]
    /// No CURVE keys: every process runs with `--insecure` (on by default it is CURVE).
    public var insecure = false
    /// Printed as rounds complete.
    public var progress: @Sendable (String) -> Void = { print($0) }

    public init(executable: URL, reportDirectory: URL, spec: ModelSpec, generator: SyntheticWearables) {
        self.executable = executable
        self.reportDirectory = reportDirectory
        self.spec = spec
        self.generator = generator
    }

    static let classes: [DeviceClass] = [.watch, .phone, .tablet]

    /// Every shard's process name and key name: `region-<class>` (the first, as logs and tests
    /// know it) or `region-<class>-<k>`, and the enrolled `region-<class>-<k>`.
    var shards: [(deviceClass: DeviceClass, shard: Int, process: String, key: String)] {
        Self.classes.flatMap { deviceClass in
            (0..<max(1, shardsPerClass)).map { shard in
                let key = "region-\(deviceClass.rawValue)-\(shard)"
                return (deviceClass, shard, shard == 0 ? "region-\(deviceClass.rawValue)" : key, key)
            }
        }
    }

    /// The scaling this run uses, once defaults are applied.
    public var effectiveScaling: DemoScaling {
        scaling ?? (dataDirectory != nil && privacy == nil ? .federated : .specConstants)
    }
}

/// Where a run's feature scaling comes from; the report states it, since accuracy depends on it.
public enum DemoScaling: String, Sendable, Codable {
    /// The constants already in the spec: documented physiological ranges for the wearable
    /// tasks, or whatever a `--spec` file says.
    case specConstants = "spec constants"
    /// A statistics round before training: each device sends per-feature sums of x, x² and
    /// counts, and the coordinator standardises with the federated means and deviations.
    case federated = "federated statistics"
    /// The means and deviations of the simulation's hold-out (`test.csv`): no device reveals
    /// anything, so this is what a private run over new columns uses.
    case holdout = "hold-out statistics"

    /// One line for the console and the report.
    public var explanation: String {
        switch self {
        case .specConstants: "the spec's constants (fixed ranges or a spec file); no statistics round"
        case .federated:
            "federated statistics: a statistics round of per-device sums of x, x² and counts before training"
        case .holdout: "the hold-out's means and deviations (test.csv); no statistics round"
        }
    }
}

/// The privacy settings of a demo run: what the auditor enforces and the coordinator proposes.
public struct DemoPrivacy: Sendable {
    public var placement: String
    public var clipNorm: Double
    public var noiseMultiplier: Double?
    public var targetEpsilon: Double?
    public var samplingRate: Double
    public var epsilonBudget: Double
    public var delta: Double

    public init(
        placement: String,
        clipNorm: Double,
        noiseMultiplier: Double?,
        targetEpsilon: Double?,
        samplingRate: Double,
        epsilonBudget: Double,
        delta: Double
    ) {
        self.placement = placement
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
        self.targetEpsilon = targetEpsilon
        self.samplingRate = samplingRate
        self.epsilonBudget = epsilonBudget
        self.delta = delta
    }

    func coordinatorArguments(events: String, ledger: String) -> [String] {
        var arguments = [
            "--dp", placement, "--clip", "\(clipNorm)", "--delta", "\(delta)", "--sampling-rate", "\(samplingRate)",
            "--auditor-events", events, "--auditor-ledger", ledger,
        ]
        if let noiseMultiplier { arguments += ["--noise-multiplier", "\(noiseMultiplier)"] }
        if let targetEpsilon { arguments += ["--target-epsilon", "\(targetEpsilon)"] }
        return arguments
    }
}

/// What the ledger says the run spent.
public struct PrivacySpent: Sendable, Codable {
    public var epsilon: Double
    public var epsilonRDP: Double?
    public var epsilonPLD: Double?
    public var delta: Double
    public var budget: Double
    public var accountant: String
    public var ledger: String
    public var ledgerVerified: Bool
}

/// What a demo run produced: the rows of its table and where its report is.
public struct DemoOutcome: Sendable, Codable {
    public var rounds: [RoundRecord]
    public var finalAccuracy: Double?
    public var centralizedAccuracy: Double?
    public var processes: Int
    /// Peak resident memory per child process, sampled after every round while it ran.
    public var peakMemoryBytes: [String: Int]
    /// The sum of the children's peaks: an upper bound on the hierarchy's peak footprint.
    public var totalPeakMemoryBytes: Int { peakMemoryBytes.values.reduce(0, +) }
    public var endReason: String
    public var reportDirectory: String
    public var privacy: PrivacySpent?
    /// The same federation without DP (a second run), when the demo compares them.
    public var nonPrivateFinalAccuracy: Double?
    /// The scaling the run used (``DemoScaling`` raw value).
    public var scaling: String?
    public var dataSource: DataSourceSummary?
    /// The child whose failure ended the run (`endReason` is then `childFailed`).
    public var failure: ChildFailure?
    /// `curve` or `insecure`: the transport security every process of the run used.
    public var transport: String? = "curve"
    /// Bytes up ÷ what the same contributors' updates would have been as f32 (``UploadComparison``).
    public var bytesUpToF32: Double?
}
