import Federation
import Foundation
public import Logging
import Metrics
import Wire
import ZeroMQ

/// Settings of one regional shard: which device class and shard it serves, and where things are.
public struct RegionalAggregatorConfig: Sendable {
    public var region: String
    public var shard: Int
    public var bindEndpoint = "tcp://127.0.0.1:*"
    /// The address workers should PUSH to, when the bind address is not reachable as such
    /// (`tcp://*:7100` in a container): default is the resolved bind endpoint.
    public var advertisedEndpoint: String?
    public var coordinatorBroadcast = "tcp://127.0.0.1:7001"
    public var coordinatorControl = "tcp://127.0.0.1:7002"
    public var heartbeatMillis = 500
    /// Updates that arrive before their round's announcement wait here, bounded.
    public var earlyUpdateLimit = 4_096
    public var maxMessageBytes = 64 << 20

    public init(region: String, shard: Int) {
        self.region = region
        self.shard = shard
    }

    public var name: String { "\(region)/\(shard)" }
}

/// A regional shard: takes its members' updates for the open round, sums them streaming
/// (memory O(model)), and sends one partial up when all have answered or the deadline passes.
public final class RegionalAggregatorRole: Sendable {
    let config: RegionalAggregatorConfig
    let logger: Logger

    public init(config: RegionalAggregatorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        let context = try Context()
        let id = "region-\(config.region)-\(config.shard)"
        // The decoder's bounds follow the socket's: a message of small frames that passes
        // ZMQ_MAXMSGSIZE (a per-frame limit) is still refused above the same total.
        let limits = WireLimits(
            maxHeaderBytes: min(WireLimits.default.maxHeaderBytes, config.maxMessageBytes),
            maxTotalBytes: min(WireLimits.default.maxTotalBytes, config.maxMessageBytes)
        )
        let messenger = Messenger(role: "region", sender: id, logger: logger, limits: limits)
        let updates = try Socket(context, type: .pull)
        try updates.setLinger(0)
        try updates.setBacklog(4_096)
        try updates.setMaxMessageSize(Int64(config.maxMessageBytes))
        // libzmq's queue limit counts messages per peer; size it from a byte budget so that a
        // burst of large updates waits at the senders instead of piling up in this process.
        try updates.setReceiveHighWaterMark(Int32(max(8, min(1_000, (64 << 20) / max(1, config.maxMessageBytes)))))
        let bound = try updates.bindResolved(config.bindEndpoint)
        let coordinator = try CoordinatorLink(
            context: context, broadcast: config.coordinatorBroadcast, control: config.coordinatorControl,
            topics: [.roundOpen, .runEnd]
        )
        let upward = try Socket(context, type: .push)
        try upward.setLinger(5_000)
        var upwardEndpoint: String?
        var heartbeat = AggregatorHeartbeat(
            hello: AggregatorHello(
                aggregatorId: id, tier: .region, region: DeviceClassName(rawValue: config.region), shard: config.shard,
                endpoint: config.advertisedEndpoint ?? bound, sequence: 0, intervalMillis: config.heartbeatMillis
            )
        )
        var shard = ShardState(config: config, logger: logger, messenger: messenger)
        logger.info("regional aggregator ready", metadata: ["shard": "\(config.name)", "endpoint.updates": "\(bound)"])

        var running = true
        while running && !control.shouldStop {
            let now = Clock.nowMillis()
            try heartbeat.beatIfDue(now: now, messenger: messenger, on: coordinator.control)
            var items = [control.wakeup.pollItem(), updates.pollItem(), coordinator.broadcast.pollItem()]
            let untilBeat = heartbeat.nextBeat - now
            let untilDeadline = shard.deadline.map { $0 - now } ?? 1_000
            try poll(&items, timeout: .milliseconds(max(0, min(untilBeat, untilDeadline))))
            if items[0].isReadable { control.wakeup.drain() }
            while let received = try messenger.receive(from: coordinator.broadcast) {
                switch received {
                case .success(.roundOpen(let open)):
                    if let endpoint = shard.roundOpened(open), endpoint != upwardEndpoint {
                        if let old = upwardEndpoint { try? upward.disconnect(old) }
                        try upward.connect(endpoint)
                        upwardEndpoint = endpoint
                    }
                case .success(.runEnd):
                    running = false
                default:
                    continue
                }
            }
            // Drain in bounded batches so the deadline and the broadcast stay responsive.
            var drained = 0
            while drained < 10_000, let frames = try updates.receive(dontWait: true) {
                drained += 1
                shard.updateReceived(frames)
            }
            if let partial = shard.partialIfDue(now: Clock.nowMillis()) {
                try messenger.send(partial.body, tensors: partial.tensors, on: upward)
            }
        }
        logger.info("regional aggregator stopping", metadata: ["shard": "\(config.name)"])
    }
}
