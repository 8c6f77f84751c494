/// `model.candidate` (global aggregator → coordinator PULL 7002): the model after a round.
///
/// Tensors: `weights` in a train round, or `mean` and `std` in a statistics round.
/// The coordinator checkpoints it before it counts the round as done.
public struct ModelCandidate: MessageBody {
    public static let topic = Topic.modelCandidate

    /// ≥ 1.
    public var roundId: Int
    /// The new model version (≥ 0).
    public var modelVersion: Int
    /// Lowercase hex SHA-256 of the `weights` (or first statistics) frame.
    public var modelDigest: String
    /// Contributors by device class.
    public var participants: ParticipantCounts
    /// ≥ 0.
    public var contributors: Int
    /// ≥ 0.
    public var weightSum: Double
    /// What the sum was divided by: the fixed DP denominator, or the weight sum without DP (≥ 0).
    public var denominator: Double
    /// Standard deviation of the central noise added (≥ 0; 0 when none).
    public var noiseStd: Double
    /// Example-weighted evaluation of the previous model, when workers reported any.
    public var metrics: MetricsSummary?
    /// Shards that reported, as `<region>/<shard>` labels.
    public var shardsReported: [String]
    /// Shards in the assignment that did not report by the deadline.
    public var shardsMissing: [String]
    /// ≥ 0.
    public var clippedCount: Int
    /// Bytes of updates the shards received (≥ 0), summed for the traffic report.
    public var bytesUp: Int?
    /// Updates refused by the shards and the global tier, keyed by `RejectReason` raw value.
    ///
    /// Forwarded so the coordinator can report them in `round.completed` without its own count.
    public var rejected: [String: Int]?
    /// Noise std ÷ (C × sensitivity) achieved (≥ 0), forwarded to `round.completed`.
    public var effectiveNoiseMultiplier: Double?
    /// The workers whose updates are in the sum, from the shards' partials. Travels only inside
    /// the trusted aggregator (global → coordinator → auditor over PUSH), never on a broadcast.
    public var contributorIds: [String]?
    /// One record per shard that secure-aggregated the round, from the partials, forwarded to
    /// `round.completed`.
    public var secureAggregation: [SecureAggregationRecord]?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        modelVersion: Int,
        modelDigest: String,
        participants: ParticipantCounts,
        contributors: Int,
        weightSum: Double,
        denominator: Double,
        noiseStd: Double,
        metrics: MetricsSummary? = nil,
        shardsReported: [String],
        shardsMissing: [String],
        clippedCount: Int,
        bytesUp: Int? = nil,
        rejected: [String: Int]? = nil,
        effectiveNoiseMultiplier: Double? = nil,
        contributorIds: [String]? = nil,
        secureAggregation: [SecureAggregationRecord]? = nil
    ) {
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.modelDigest = modelDigest
        self.participants = participants
        self.contributors = contributors
        self.weightSum = weightSum
        self.denominator = denominator
        self.noiseStd = noiseStd
        self.metrics = metrics
        self.shardsReported = shardsReported
        self.shardsMissing = shardsMissing
        self.clippedCount = clippedCount
        self.bytesUp = bytesUp
        self.rejected = rejected
        self.effectiveNoiseMultiplier = effectiveNoiseMultiplier
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
        try check.nonNegative("weightSum", weightSum)
        try check.nonNegative("denominator", denominator)
        try check.nonNegative("noiseStd", noiseStd)
        try metrics?.validate(check.nested("metrics"))
        try check.ids("shardsReported", shardsReported)
        try check.ids("shardsMissing", shardsMissing)
        try check.atLeast("clippedCount", clippedCount, 0)
        if let bytesUp { try check.atLeast("bytesUp", bytesUp, 0) }
        if let rejected { try check.rejectCounts("rejected", rejected) }
        if let effectiveNoiseMultiplier { try check.nonNegative("effectiveNoiseMultiplier", effectiveNoiseMultiplier) }
        if let contributorIds { try check.ids("contributorIds", contributorIds) }
        if let secureAggregation { try check.secureAggregation("secureAggregation", secureAggregation) }
    }
}
