public import Learning
public import Wire

/// What a coordinator must remember across a restart: where the run is and the model it has.
///
/// The round state machine owns it and asks the shell to persist it (atomically) whenever a
/// restart must not lose a change: a round id handed out, a round completed, a completion
/// acknowledged. Its JSON is the checkpoint file.
public struct CoordinatorProgress: Codable, Sendable, Equatable {
    public var completedRounds: Int
    /// The next round id to use; ids of failed, denied or retried attempts are never reused.
    public var nextRoundId: Int
    public var modelVersion: Int
    public var spec: ModelSpec
    public var weights: [Float]
    public var history: [RoundSummary]
    /// Per-run salt of the participant hashes: ids never leave the coordinator in clear.
    public var participationSalt: String
    /// Contributions per device, keyed by the salted hash of its id (for the participation cap).
    public var participation: [String: Int] = [:]
    /// The noise multiplier once calibrated from a target ε, so a restart keeps it.
    public var calibratedNoiseMultiplier: Double?
    /// Whether the federated feature statistics have been folded into `spec`.
    public var statisticsDone = false
    /// Completions the auditor has not yet recorded (no `complete` ledger entry seen): re-sent
    /// until it has, across auditor and coordinator restarts, so no spent round is forgotten.
    public var unacknowledgedCompletions: [RoundCompleted] = []

    /// A fresh run: round 1 next, the spec's initial weights.
    public init(spec: ModelSpec, seed: UInt64, participationSalt: String) {
        completedRounds = 0
        nextRoundId = 1
        modelVersion = 0
        self.spec = spec
        weights = spec.initialWeights(seed: seed)
        history = []
        self.participationSalt = participationSalt
    }
}
