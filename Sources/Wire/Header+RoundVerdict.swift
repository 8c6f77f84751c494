/// `round.verdict` (auditor PUB 7301): approve or deny a proposed round.
///
/// `epsilon` is the total the run reaches if the round runs, so the coordinator can show the
/// budget without its own accountant.
public struct RoundVerdict: MessageBody {
    public static let topic = Topic.roundVerdict

    /// ≥ 1.
    public var roundId: Int
    /// Whether the round may run.
    public var approved: Bool
    /// Cumulative ε including this round (≥ 0, finite).
    public var epsilon: Double
    /// The δ the ε is stated for, in [0, 1).
    public var delta: Double
    /// The ε budget of the run (≥ 0).
    public var epsilonBudget: Double
    /// Which accountant computed `epsilon`.
    public var accountant: Accountant
    /// Why a round was denied (1…1024 characters).
    public var reason: String?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        approved: Bool,
        epsilon: Double,
        delta: Double,
        epsilonBudget: Double,
        accountant: Accountant,
        reason: String? = nil
    ) {
        self.roundId = roundId
        self.approved = approved
        self.epsilon = epsilon
        self.delta = delta
        self.epsilonBudget = epsilonBudget
        self.accountant = accountant
        self.reason = reason
    }

    /// The accountant that computed ε: Rényi DP, or privacy-loss distributions.
    public enum Accountant: String, Codable, Sendable, CaseIterable {
        case rdp, pld
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("roundId", roundId, 1)
        try check.nonNegative("epsilon", epsilon)
        try check.require(delta >= 0 && delta < 1, "delta", "\(delta) is outside [0, 1)")
        try check.nonNegative("epsilonBudget", epsilonBudget)
        if let reason { try check.text("reason", reason, maxLength: 1024) }
    }
}
