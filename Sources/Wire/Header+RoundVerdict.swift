/// `round.verdict` (auditor PUB 7301): approve or deny a proposed round.
///
/// `epsilon` is, for an approval, the total the run reaches with this round (now spent), so the
/// coordinator can show the budget without its own accountant; for a deny, the total already
/// spent. A deny names its reason from a closed set (``DenyReason``): only `budgetExceeded` means
/// the run has no budget left; every other reason refuses this one proposal.
public struct RoundVerdict: MessageBody {
    public static let topic = Topic.roundVerdict
    public static let carriesTensors = false

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
    /// Why a round was denied: a ``DenyReason`` raw value (kept a string for readers that only
    /// log it; ``denyReason`` gives the typed value).
    public var reason: String?
    /// What exactly was refused, for people (1…1024 characters), e.g. `z = 0.5 < 0.7`.
    public var detail: String?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        approved: Bool,
        epsilon: Double,
        delta: Double,
        epsilonBudget: Double,
        accountant: Accountant,
        reason: String? = nil,
        detail: String? = nil
    ) {
        self.roundId = roundId
        self.approved = approved
        self.epsilon = epsilon
        self.delta = delta
        self.epsilonBudget = epsilonBudget
        self.accountant = accountant
        self.reason = reason
        self.detail = detail
    }

    /// Creates a deny (or, with `reason` nil, an approval) from the typed reason.
    public init(
        roundId: Int,
        epsilon: Double,
        delta: Double,
        epsilonBudget: Double,
        accountant: Accountant,
        denied reason: DenyReason?,
        detail: String? = nil
    ) {
        self.init(
            roundId: roundId,
            approved: reason == nil,
            epsilon: epsilon,
            delta: delta,
            epsilonBudget: epsilonBudget,
            accountant: accountant,
            reason: reason?.rawValue,
            detail: detail
        )
    }

    /// The typed reason of a deny; nil for an approval.
    public var denyReason: DenyReason? { reason.flatMap(DenyReason.init(rawValue:)) }

    /// Why the auditor denies a round: a closed set, so a coordinator can act on it.
    public enum DenyReason: String, Codable, Sendable, CaseIterable {
        /// The round would bring ε over the budget: the only reason that ends training.
        case budgetExceeded
        /// q, z, C, the placement or the cohort lies outside the auditor's policy.
        case outsidePolicy
        /// The round id is not above every id on record, or jumps too far past them.
        case notNextRound
        /// The round id was completed or denied already; it is never approved again.
        case replayedRound
        /// The round id is approved and pending with other parameters.
        case conflictingProposal
        /// q, z, C or the cohort is out of range.
        case invalidParameters
        /// The auditor could not write its ledger; nothing is approved without a line.
        case ledgerFailure
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
        if let reason {
            try check.require(DenyReason(rawValue: reason) != nil, "reason", "\(reason) is not a deny reason")
        }
        if let detail { try check.text("detail", detail, maxLength: 1024) }
    }
}
