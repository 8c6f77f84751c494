import Federation
import Foundation
public import Logging
import Rounds
import Wire
import ZeroMQ

/// Settings of the global aggregator.
public struct GlobalAggregatorConfig: Sendable {
    public var bindEndpoint = "tcp://127.0.0.1:*"
    /// CURVE on every socket with the enrolment allowlist, or none (`TransportSecurity.insecure`).
    public var security: TransportSecurity = .insecure
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
    /// Partials that overtook their round's announcement wait here, bounded in bytes
    /// (`--early-buffer-bytes`) and count.
    public var earlyBufferBytes = 64 << 20
    public var earlyPartialLimit = 256

    public init() {}
}

/// The global aggregator: the shell around `Rounds.GlobalRound` on the shared ``RoleLoop``.
///
/// It builds the sockets, feeds the state machine partials, `round.open` and the timer, and
/// performs what it returns: rejections through `Messenger.reject`, the model candidate to the
/// coordinator, log lines; plus the heartbeat. Central noise is drawn from the OS CSPRNG.
public final class GlobalAggregatorRole: Sendable {
    let config: GlobalAggregatorConfig
    let logger: Logger

    enum SocketName: Hashable, Sendable { case partials, broadcast, control }

    public init(config: GlobalAggregatorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        let context = try Context()
        try config.security.start(context: context, logger: logger)
        defer { config.security.stop() }
        let messenger = Messenger(role: "global", sender: "global", logger: logger)
        let loop = RoleLoop<SocketName>(control: control, messenger: messenger, security: config.security)
        let partials = try Socket(context, type: .pull)
        try partials.setLinger(0)
        try partials.setMaxMessageSize(Int64(config.maxMessageBytes))
        try config.security.secureServer(partials)
        let bound = try partials.bindResolved(config.bindEndpoint)
        loop.add(.partials, partials)
        try CoordinatorLink.attach(
            to: loop,
            context,
            security: config.security,
            broadcast: (.broadcast, config.coordinatorBroadcast),
            control: (.control, config.coordinatorControl)
        )
        var heartbeat = AggregatorHeartbeat(
            hello: AggregatorHello(
                aggregatorId: "global",
                tier: .global,
                region: nil,
                shard: nil,
                endpoint: config.advertisedEndpoint ?? bound,
                sequence: 0,
                intervalMillis: config.heartbeatMillis
            )
        )
        var configuration = GlobalRound.Configuration(digest: Digest.sha256Hex)
        configuration.graceMillis = config.graceMillis
        configuration.earlyBufferBytes = config.earlyBufferBytes
        configuration.earlyBufferCount = config.earlyPartialLimit
        let optimizer = try ServerOptimizers.make(
            named: config.serverOptimizer,
            learningRate: config.serverLearningRate
        )
        var global = GlobalRound(configuration: configuration, optimizer: optimizer)
        // DP noise must come from the OS CSPRNG: noise from a predictable generator can be subtracted.
        var generator = SystemRandomNumberGenerator()
        var runEnded = false
        logger.info(
            "global aggregator ready",
            metadata: ["endpoint.partials": "\(bound)", "optimizer": "\(config.serverOptimizer)"]
        )

        func perform(_ actions: [GlobalAction]) {
            for action in actions {
                switch action {
                case .reject(let reason, let sender, let roundId, let detail):
                    messenger.reject(reason, detail: detail, sender: sender, roundId: roundId)
                case .sendCandidate(let candidate, let tensors):
                    loop.send(candidate, tensors: tensors, on: .control)
                case .note(let note):
                    log(note)
                }
            }
        }

        try loop.run(
            nextTimer: { min(heartbeat.nextBeat, global.nextDeadline ?? .max) },
            received: { name, incoming in
                let now = Clock.nowMillis()
                switch (name, incoming.message) {
                case (.broadcast, .success(.roundOpen(let open))?):
                    perform(global.roundOpened(open, now: now, using: &generator))
                case (.broadcast, .success(.runEnd)?):
                    runEnded = true
                case (.partials, .success(.partial(let partial))?):
                    let identity = incoming.identity ?? PeerIdentity(claimed: partial.sender)
                    perform(
                        global.partialReceived(
                            partial,
                            from: identity,
                            byteCount: incoming.byteCount,
                            now: now,
                            using: &generator
                        )
                    )
                case (.partials, .success(let other)?):
                    global.malformedReceived(messenger.refuseForeignTopic(other, on: "partials"))
                case (.partials, .failure(let error)?):
                    global.malformedReceived(error)
                default:
                    break
                }
            },
            timer: { now in
                if let hello = heartbeat.helloIfDue(now: now) { loop.send(hello, on: .control, dontWait: true) }
                perform(global.timerFired(now: now, using: &generator))
            },
            isFinished: { runEnded }
        )
        logger.info("global aggregator stopping")
    }

    private func log(_ note: GlobalNote) {
        switch note {
        case .roundOpened(let roundId, let shards):
            logger.info(
                "round opened",
                metadata: ["round.id": "\(roundId)", "round.shards": "\(shards.joined(separator: ","))"]
            )
        case .roundUnreadable(let roundId, let detail):
            logger.warning("round not readable", metadata: ["round.id": "\(roundId)", "round.detail": "\(detail)"])
        case .partialAccepted(let shard, let roundId, let contributors):
            logger.info(
                "partial accepted",
                metadata: ["round.id": "\(roundId)", "shard": "\(shard)", "round.contributors": "\(contributors)"]
            )
        case .partialBuffered(let sender, let roundId, let bytes):
            logger.debug(
                "partial buffered",
                metadata: ["round.id": "\(roundId)", "message.sender": "\(sender)", "buffer.bytes": "\(bytes)"]
            )
        case .candidateReady(let roundId, let contributors, let missing, let noiseStd):
            logger.info(
                "model candidate sent",
                metadata: [
                    "round.id": "\(roundId)", "round.contributors": "\(contributors)",
                    "shards.missing": "\(missing.joined(separator: ","))", "noise.std": "\(noiseStd)",
                ]
            )
        }
    }
}
