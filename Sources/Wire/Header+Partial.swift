/// `partial` (region shard → global PULL 7200): the streaming sum of one shard's updates.
///
/// Tensors: `sum` in a train round, `sum` and `sumSquares` in a statistics round.
public struct Partial: MessageBody {
    public static let topic = Topic.partial

    /// ≥ 1.
    public var roundId: Int
    /// ≥ 0.
    public var modelVersion: Int
    /// The region (device class) of the shard.
    public var region: DeviceClassName
    /// ≥ 0.
    public var shard: Int
    /// Updates summed (≥ 0).
    public var contributors: Int
    /// Sum of the contributors' weights (≥ 0).
    public var weightSum: Double
    /// Who contributed (unique worker ids), so the coordinator can tell dropouts.
    public var members: [String]
    /// Example-weighted mean of the contributors' metrics.
    public var metrics: MetricsSummary?
    /// Updates refused, keyed by `RejectReason` raw value.
    public var rejected: [String: Int]
    /// Updates whose norm exceeded the clip norm (≥ 0).
    public var clippedCount: Int
    /// Bytes of the updates the shard received (≥ 0), for the traffic report.
    public var bytesUp: Int?
    /// Present iff the shard secure-aggregated this round: then `sum` is the unmasked sum of
    /// the survivors' quantized updates, dequantized, and no single update was ever seen.
    public var secureAggregation: SecureAggregationRecord?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        modelVersion: Int,
        region: DeviceClassName,
        shard: Int,
        contributors: Int,
        weightSum: Double,
        members: [String],
        metrics: MetricsSummary? = nil,
        rejected: [String: Int] = [:],
        clippedCount: Int,
        bytesUp: Int? = nil,
        secureAggregation: SecureAggregationRecord? = nil
    ) {
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.region = region
        self.shard = shard
        self.contributors = contributors
        self.weightSum = weightSum
        self.members = members
        self.metrics = metrics
        self.rejected = rejected
        self.clippedCount = clippedCount
        self.bytesUp = bytesUp
        self.secureAggregation = secureAggregation
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("roundId", roundId, 1)
        try check.atLeast("modelVersion", modelVersion, 0)
        try check.atLeast("shard", shard, 0)
        try check.atLeast("contributors", contributors, 0)
        try check.nonNegative("weightSum", weightSum)
        try check.ids("members", members)
        try metrics?.validate(check.nested("metrics"))
        try check.rejectCounts("rejected", rejected)
        try check.atLeast("clippedCount", clippedCount, 0)
        if let bytesUp { try check.atLeast("bytesUp", bytesUp, 0) }
        // That the record names this partial's shard is the global tier's check (a schema
        // cannot compare two fields).
        try secureAggregation?.validate(check.nested("secureAggregation"))
    }
}
