public import Federation
public import Wire

/// The live aggregators, learned from their heartbeats: the topology each round is assigned over.
///
/// One id per slot: a region shard slot is (region, shard), and there is one global slot. A hello
/// for a live slot from another id is refused, so a stranger cannot take over a shard's endpoint
/// or the global aggregator's right to send the model.
public struct AggregatorRegistry: Sendable, Equatable {
    public struct Aggregator: Sendable, Equatable {
        public var hello: AggregatorHello
        public var lastSeen: Int64
    }

    public enum Admission: Sendable, Equatable {
        case new, known
        /// Refused: `holder` has the slot and is still heartbeating.
        case slotTaken(holder: String)
    }

    public private(set) var aggregators: [String: Aggregator] = [:]

    public init() {}

    /// Records a hello (registration or heartbeat).
    public mutating func helloReceived(_ hello: AggregatorHello, now: Int64) -> Admission {
        let slot = Self.slot(of: hello)
        if let holder = aggregators.first(where: {
            $0.key != hello.aggregatorId && Self.slot(of: $0.value.hello) == slot
        }) {
            return .slotTaken(holder: holder.key)
        }
        let known = aggregators[hello.aggregatorId] != nil
        aggregators[hello.aggregatorId] = Aggregator(hello: hello, lastSeen: now)
        return known ? .known : .new
    }

    /// Drops aggregators silent for longer than `timeoutMillis`; returns their ids, sorted.
    public mutating func expire(now: Int64, timeoutMillis: Int64) -> [String] {
        let gone = aggregators.filter { now - $0.value.lastSeen > timeoutMillis }.keys.sorted()
        for id in gone { aggregators[id] = nil }
        return gone
    }

    /// The live global aggregator: its id (the only sender of model candidates) and endpoint.
    public var global: (id: String, endpoint: String)? {
        for (id, aggregator) in aggregators where aggregator.hello.tier == .global {
            if let endpoint = aggregator.hello.endpoint { return (id, endpoint) }
        }
        return nil
    }

    /// The live region shards with an endpoint.
    public var shards: [LiveShard] {
        aggregators.values.compactMap { aggregator in
            let hello = aggregator.hello
            guard hello.tier == .region, let region = hello.region, let shard = hello.shard,
                let endpoint = hello.endpoint
            else { return nil }
            return LiveShard(region: region.rawValue, shard: shard, endpoint: endpoint)
        }
        .sorted { ($0.region, $0.shard) < ($1.region, $1.shard) }
    }

    /// The live shard's secure-aggregation ROUTER, as its last hello announced it.
    public func secureAggregationEndpoint(region: String, shard: Int) -> String? {
        aggregators.values.first { $0.hello.region?.rawValue == region && $0.hello.shard == shard }?
            .hello.secureAggregationEndpoint
    }

    private static func slot(of hello: AggregatorHello) -> String {
        switch hello.tier {
        case .global: "global"
        case .region: "\(hello.region?.rawValue ?? "-")/\(hello.shard ?? -1)"
        }
    }
}
