import Federation
import Foundation
import Learning
public import Logging
import Metrics
import Wire
import ZeroMQ

/// Settings of the global aggregator.
public struct GlobalAggregatorConfig: Sendable {
    public var bindEndpoint = "tcp://127.0.0.1:*"
    public var advertisedEndpoint: String?
    public var coordinatorBroadcast = "tcp://127.0.0.1:7001"
    public var coordinatorControl = "tcp://127.0.0.1:7002"
    public var auditorEvents: String?
    public var heartbeatMillis = 500
    /// How long after the shards' deadline partials may still arrive.
    public var graceMillis: Int64 = 1_000
    /// The server optimizer by name: fedavg, fedavgm, fedadam, fedyogi, fedadagrad.
    public var serverOptimizer = "fedavg"
    /// nil: the optimizer's own default (1 for fedavg/fedavgm, 0.1 for the adaptive ones).
    public var serverLearningRate: Float?
    public var maxMessageBytes = 256 << 20

    public init() {}
}

/// The global aggregator: combines the shards' partials, adds central noise when configured,
/// applies the server optimizer and hands the new model to the coordinator.
public final class GlobalAggregatorRole: Sendable {
    let config: GlobalAggregatorConfig
    let logger: Logger

    public init(config: GlobalAggregatorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        let context = try Context()
        let messenger = Messenger(role: "global", sender: "global", logger: logger)
        let partials = try Socket(context, type: .pull)
        try partials.setLinger(0)
        try partials.setMaxMessageSize(Int64(config.maxMessageBytes))
        let bound = try partials.bindResolved(config.bindEndpoint)
        let coordinator = try CoordinatorLink(
            context: context, broadcast: config.coordinatorBroadcast, control: config.coordinatorControl,
            topics: [.roundOpen, .runEnd]
        )
        var heartbeat = AggregatorHeartbeat(
            hello: AggregatorHello(
                aggregatorId: "global", tier: .global, region: nil, shard: nil,
                endpoint: config.advertisedEndpoint ?? bound, sequence: 0, intervalMillis: config.heartbeatMillis
            )
        )
        var combiner = try GlobalCombiner(config: config, logger: logger, messenger: messenger)
        logger.info("global aggregator ready", metadata: ["endpoint.partials": "\(bound)", "optimizer": "\(config.serverOptimizer)"])

        var running = true
        while running && !control.shouldStop {
            let now = Clock.nowMillis()
            try heartbeat.beatIfDue(now: now, messenger: messenger, on: coordinator.control)
            var items = [control.wakeup.pollItem(), partials.pollItem(), coordinator.broadcast.pollItem()]
            let untilDeadline = combiner.deadline.map { $0 - now } ?? 1_000
            try poll(&items, timeout: .milliseconds(max(0, min(heartbeat.nextBeat - now, untilDeadline))))
            if items[0].isReadable { control.wakeup.drain() }
            while let received = try messenger.receive(from: coordinator.broadcast) {
                switch received {
                case .success(.roundOpen(let open)): combiner.roundOpened(open)
                case .success(.runEnd): running = false
                default: continue
                }
            }
            while let received = try messenger.receive(from: partials) {
                switch received {
                case .success(.partial(let partial)): combiner.partialReceived(partial)
                case .success(let other):
                    messenger.reject(.topicMismatch, detail: "\(other.topic) does not belong on the partials socket", sender: other.sender)
                case .failure: continue
                }
            }
            if let candidate = try combiner.candidateIfDue(now: Clock.nowMillis()) {
                try messenger.send(candidate.body, tensors: candidate.tensors, on: coordinator.control)
            }
        }
        logger.info("global aggregator stopping")
    }
}
