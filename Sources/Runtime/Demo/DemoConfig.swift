public import Wire
public import Foundation
public import Learning

/// A whole hierarchy on this machine: what the demo (and the end-to-end tests) start.
public struct DemoConfig: Sendable {
    /// The `fedpulse` binary to start the roles with (normally this very executable).
    public var executable: URL
    public var reportDirectory: URL
    public var rounds = 10
    public var devicesPerClass = 4
    /// Virtual devices one edge process hosts at most; more devices mean more edge processes.
    public var devicesPerEdgeProcess = 100
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
    /// Printed as rounds complete.
    public var progress: @Sendable (String) -> Void = { print($0) }

    public init(executable: URL, reportDirectory: URL, spec: ModelSpec, generator: SyntheticWearables) {
        self.executable = executable
        self.reportDirectory = reportDirectory
        self.spec = spec
        self.generator = generator
    }

    static let classes: [DeviceClass] = [.watch, .phone, .tablet]
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

    public init(placement: String, clipNorm: Double, noiseMultiplier: Double?, targetEpsilon: Double?, samplingRate: Double, epsilonBudget: Double, delta: Double) {
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
}
