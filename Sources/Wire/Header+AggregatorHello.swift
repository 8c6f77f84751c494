/// `aggregator.hello` (aggregator → coordinator PULL 7002): registration and heartbeat in one.
///
/// The topology is discovered, not configured twice: the coordinator builds each round's shard
/// assignment from the hellos it heard within a few `intervalMillis`.
public struct AggregatorHello: MessageBody {
    public static let topic = Topic.aggregatorHello
    public static let carriesTensors = false

    /// The aggregator's id, stable across restarts so its heartbeats are recognised.
    public var aggregatorId: String
    /// Region shard or global combiner.
    public var tier: Tier
    /// The device class a region shard serves; present exactly when `tier == .region`.
    public var region: DeviceClassName?
    /// The shard index within the region (≥ 0); present exactly when `tier == .region`.
    public var shard: Int?
    /// Where this aggregator PULLs: updates for a region shard, partials for the global tier.
    public var endpoint: String?
    /// Increments with every hello (≥ 0), so a restart or a lost heartbeat is visible.
    public var sequence: Int
    /// Promised time to the next hello, in milliseconds (> 0).
    public var intervalMillis: Int
    /// A region shard's ROUTER for the `secagg.*` stages, copied into its round assignments.
    public var secureAggregationEndpoint: String?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        aggregatorId: String,
        tier: Tier,
        region: DeviceClassName? = nil,
        shard: Int? = nil,
        endpoint: String? = nil,
        sequence: Int,
        intervalMillis: Int,
        secureAggregationEndpoint: String? = nil
    ) {
        self.aggregatorId = aggregatorId
        self.tier = tier
        self.region = region
        self.shard = shard
        self.endpoint = endpoint
        self.sequence = sequence
        self.intervalMillis = intervalMillis
        self.secureAggregationEndpoint = secureAggregationEndpoint
    }

    /// Which level of the aggregation tree the sender is.
    public enum Tier: String, Codable, Sendable, CaseIterable {
        case region, global
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.id("aggregatorId", aggregatorId)
        switch tier {
        case .region:
            try check.require(region != nil, "region", "is required for tier region")
            try check.require(shard != nil, "shard", "is required for tier region")
        case .global:
            try check.require(region == nil, "region", "is not allowed for tier global")
            try check.require(shard == nil, "shard", "is not allowed for tier global")
        }
        if let shard { try check.atLeast("shard", shard, 0) }
        if let endpoint { try check.endpoint("endpoint", endpoint) }
        if let secureAggregationEndpoint {
            try check.require(tier == .region, "secureAggregationEndpoint", "is only sent by a region shard")
            try check.endpoint("secureAggregationEndpoint", secureAggregationEndpoint)
        }
        try check.atLeast("sequence", sequence, 0)
        try check.atLeast("intervalMillis", intervalMillis, 1)
    }
}
