public import Wire

/// A round as prepared before the auditor sees it: who is announced, where, and at what cost.
///
/// Under DP (`selection == .poisson`) `assignments` list each shard's eligible population and
/// nobody outside the devices learns who sampled themselves; without DP they are the cohort.
public struct RoundDraft: Sendable, Equatable {
    public var roundId: Int
    public var kind: RoundKind
    public var selection: CohortSelection
    /// q: the proposal's sampling rate (each member's own probability under `poisson`).
    public var samplingRate: Double
    public var assignments: [ShardAssignment]
    /// Eligible workers the round samples from (the announced population under `poisson`).
    public var population: Int
    /// The settings workers apply; `expectedCohort` is the DP denominator m = q·population.
    public var privacy: PrivacySettings

    /// Every announced worker id.
    public var members: [String] { assignments.flatMap(\.members) }

    /// How many workers are announced.
    public var memberCount: Int { assignments.reduce(0) { $0 + $1.members.count } }
}
