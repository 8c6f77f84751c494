/// `round.completed` (coordinator → auditor PULL 7300): what a round actually did.
///
/// The auditor appends it to the ledger next to the approval, so an approved round that ran
/// with fewer contributors or less noise than proposed is on record. Only the coordinator may
/// send it; the auditor accepts one per approved round, refuses one naming more contributors
/// than the approved bound, and computes the noise present itself.
public struct RoundCompleted: MessageBody {
    public static let topic = Topic.roundCompleted
    public static let carriesTensors = false

    /// ≥ 1.
    public var roundId: Int
    /// The version the round produced (≥ 0).
    public var modelVersion: Int
    /// Lowercase hex SHA-256 of the new weights.
    public var modelDigest: String
    /// Contributors by device class.
    public var participants: ParticipantCounts
    /// ≥ 0.
    public var contributors: Int
    /// Updates refused over all shards, keyed by `RejectReason` raw value.
    public var rejected: [String: Int]
    /// ≥ 0.
    public var clippedCount: Int
    /// Noise std ÷ (C × sensitivity) the global aggregator reports (≥ 0). Informative: the auditor
    /// derives the noise protecting a contributor from the approved parameters and the count.
    public var effectiveNoiseMultiplier: Double
    /// Example-weighted evaluation of the previous model, when workers reported any.
    public var metrics: MetricsSummary?
    /// The workers whose updates are in the released sum, so the auditor can record each
    /// device's participation under its own salt. Sent over PUSH to the auditor only; the ledger
    /// holds salted hashes, never these ids.
    public var contributorIds: [String]?
    /// One record per shard that secure-aggregated this round; nil when none did.
    public var secureAggregation: [SecureAggregationRecord]?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        modelVersion: Int,
        modelDigest: String,
        participants: ParticipantCounts,
        contributors: Int,
        rejected: [String: Int] = [:],
        clippedCount: Int,
        effectiveNoiseMultiplier: Double,
        metrics: MetricsSummary? = nil,
        contributorIds: [String]? = nil,
        secureAggregation: [SecureAggregationRecord]? = nil
    ) {
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.modelDigest = modelDigest
        self.participants = participants
        self.contributors = contributors
        self.rejected = rejected
        self.clippedCount = clippedCount
        self.effectiveNoiseMultiplier = effectiveNoiseMultiplier
        self.metrics = metrics
        self.contributorIds = contributorIds
        self.secureAggregation = secureAggregation
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("roundId", roundId, 1)
        try check.atLeast("modelVersion", modelVersion, 0)
        try check.digest("modelDigest", modelDigest)
        try participants.validate(check.nested("participants"))
        try check.atLeast("contributors", contributors, 0)
        try check.rejectCounts("rejected", rejected)
        try check.atLeast("clippedCount", clippedCount, 0)
        try check.nonNegative("effectiveNoiseMultiplier", effectiveNoiseMultiplier)
        try metrics?.validate(check.nested("metrics"))
        if let contributorIds { try check.ids("contributorIds", contributorIds) }
        if let secureAggregation { try check.secureAggregation("secureAggregation", secureAggregation) }
    }
}
