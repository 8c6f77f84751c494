import Foundation
public import Logging
import Metrics
import Rounds
import Wire
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Settings of one regional shard: which device class and shard it serves, and where things are.
public struct RegionalAggregatorConfig: Sendable {
    public var region: String
    public var shard: Int
    public var bindEndpoint = "tcp://127.0.0.1:*"
    /// CURVE on every socket with the enrolment allowlist, or none (`TransportSecurity.insecure`).
    public var security: TransportSecurity = .insecure
    /// The address workers should PUSH to, when the bind address is not reachable as such
    /// (`tcp://*:7100` in a container): default is the resolved bind endpoint.
    public var advertisedEndpoint: String?
    /// Where the secure-aggregation ROUTER binds (default: the bind host, any port) …
    public var secureAggregationBind: String?
    /// … and the address devices' DEALERs connect to (default: the resolved bind endpoint).
    public var secureAggregationAdvertised: String?
    public var coordinatorBroadcast = "tcp://127.0.0.1:7001"
    public var coordinatorControl = "tcp://127.0.0.1:7002"
    public var heartbeatMillis = 500
    /// Updates that arrive before their round's announcement wait here, bounded in count …
    public var earlyUpdateLimit = 4_096
    /// … and in bytes (`--early-buffer-bytes`), so a flood for round r+1 cannot exhaust memory.
    public var earlyBufferBytes = 64 << 20
    public var maxMessageBytes = 64 << 20

    public init(region: String, shard: Int) {
        self.region = region
        self.shard = shard
    }

    public var name: String { "\(region)/\(shard)" }

    /// The update PULL's queue limit. libzmq counts it in messages per peer; it is sized from a
    /// byte budget so that a burst of large updates waits at the senders instead of piling up in
    /// this process: 2 at the default 64 MiB message limit. A device sends one update per round,
    /// so only a peer sending many (an edge's shared link, the ingest bench) ever fills it; at 8,
    /// a fast sender's backlog of 4 MB updates put 12–28 MB on this process's peak and read as
    /// memory growing with the cohort, at 2 it is 8–12 MB, with the same ingest rate (measured).
    public var updateReceiveHighWaterMark: Int32 {
        Int32(max(2, min(1_000, (64 << 20) / max(1, maxMessageBytes))))
    }
}

/// A regional shard: the shell around `Rounds.ShardRound` on the shared ``RoleLoop``.
///
/// It builds the sockets, feeds the state machine what arrives (and the timer), and performs
/// what it returns: rejections through `Messenger.reject` (counter + log line), the upward
/// connection, the partial, log lines; plus the heartbeat to the coordinator.
public final class RegionalAggregatorRole: Sendable {
    let config: RegionalAggregatorConfig
    let logger: Logger

    enum SocketName: Hashable, Sendable { case updates, broadcast, control, upward, secagg }

    public init(config: RegionalAggregatorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        guard let region = DeviceClassName(rawValue: config.region) else {
            throw WireError(code: .wrongDeviceClass, detail: "unknown device class \(config.region)")
        }
        ReceiveBuffers.keepFreedUpdateBuffers()
        let context = try Context()
        try config.security.start(context: context, logger: logger)
        defer { config.security.stop() }
        let id = GlobalRound.aggregatorId(region: region, shard: config.shard)
        // The decoder's bounds follow the socket's: a message of small frames that passes
        // ZMQ_MAXMSGSIZE (a per-frame limit) is still refused above the same total.
        let limits = WireLimits(
            maxHeaderBytes: min(WireLimits.default.maxHeaderBytes, config.maxMessageBytes),
            maxTotalBytes: min(WireLimits.default.maxTotalBytes, config.maxMessageBytes)
        )
        let messenger = Messenger(role: "region", sender: id, logger: logger, limits: limits)
        let loop = RoleLoop<SocketName>(control: control, messenger: messenger, security: config.security)
        let updates = try Socket(context, type: .pull)
        try updates.setLinger(0)
        try updates.setBacklog(4_096)
        try updates.setMaxMessageSize(Int64(config.maxMessageBytes))
        try updates.setReceiveHighWaterMark(config.updateReceiveHighWaterMark)
        try config.security.secureServer(updates)
        let bound = try updates.bindResolved(config.bindEndpoint)
        loop.add(.updates, updates, floatsCheckedByRole: true)  // ShardRound's fused stage refuses NaN/∞
        try CoordinatorLink.attach(
            to: loop,
            context,
            security: config.security,
            broadcast: (.broadcast, config.coordinatorBroadcast),
            control: (.control, config.coordinatorControl)
        )
        let upward = try Socket(context, type: .push)
        try upward.setLinger(5_000)
        // Always the global aggregator: the server key is set once, libzmq reads it at each connect.
        try config.security.secureClient(upward, of: "global")
        loop.add(.upward, upward, polled: false)
        let router = try Socket(context, type: .router)
        let secAggBound = try SecAggShardChannel.bind(
            router,
            endpoint: config.secureAggregationBind ?? SecAggShardChannel.anyPort(like: bound),
            security: config.security,
            maxMessageBytes: config.maxMessageBytes
        )
        loop.add(.secagg, router, decodes: false)
        let secAgg = SecAggShardChannel(
            loop: loop,
            logger: logger,
            region: region,
            shard: config.shard,
            name: config.name,
            security: config.security
        )

        var heartbeat = AggregatorHeartbeat(
            hello: AggregatorHello(
                aggregatorId: id,
                tier: .region,
                region: region,
                shard: config.shard,
                endpoint: config.advertisedEndpoint ?? bound,
                sequence: 0,
                intervalMillis: config.heartbeatMillis,
                secureAggregationEndpoint: config.secureAggregationAdvertised
                    ?? SecAggShardChannel.advertised(bound: secAggBound, like: config.advertisedEndpoint)
            )
        )
        var configuration = ShardRound.Configuration(region: region, shard: config.shard, digest: Digest.sha256Hex)
        configuration.earlyBufferBytes = config.earlyBufferBytes
        configuration.earlyBufferCount = config.earlyUpdateLimit
        var shard = ShardRound(configuration: configuration)
        let performer = ShardPerformer(loop: loop, logger: logger, name: config.name, region: config.region)
        var runEnded = false
        logger.info(
            "regional aggregator ready",
            metadata: ["shard": "\(config.name)", "endpoint.updates": "\(bound)", "endpoint.secagg": "\(secAggBound)"]
        )

        try loop.run(
            nextTimer: { min(heartbeat.nextBeat, shard.nextDeadline ?? .max, secAgg.nextDeadline ?? .max) },
            received: { name, incoming in
                let now = Clock.nowMillis()
                switch (name, incoming.message) {
                case (.broadcast, .success(.roundOpen(let open))?):
                    if !secAgg.roundOpened(open, now: now) { performer.perform(shard.roundOpened(open, now: now)) }
                case (.secagg, _):
                    secAgg.received(incoming, now: now)
                case (.broadcast, .success(.runEnd)?):
                    runEnded = true
                case (.updates, .success(.update(let update))?):
                    let identity = incoming.identity ?? PeerIdentity(claimed: update.sender)
                    performer.perform(
                        shard.updateReceived(update, from: identity, byteCount: incoming.byteCount, now: now)
                    )
                case (.updates, .success(let other)?):
                    shard.malformedReceived(messenger.refuseForeignTopic(other, on: "updates"))
                case (.updates, .failure(let error)?):
                    shard.malformedReceived(error)
                default:
                    break
                }
            },
            timer: { now in
                if let hello = heartbeat.helloIfDue(now: now) { loop.send(hello, on: .control, dontWait: true) }
                performer.perform(shard.timerFired(now: now))
                secAgg.timer(now: now)
            },
            isFinished: { runEnded }
        )
        logger.info("regional aggregator stopping", metadata: ["shard": "\(config.name)"])
    }
}

/// Performs a shard's actions on its loop: one place that turns data into sends and log lines.
struct ShardPerformer {
    let loop: RoleLoop<RegionalAggregatorRole.SocketName>
    let logger: Logger
    let name: String
    let accepted: Counter
    let declined: Counter

    init(loop: RoleLoop<RegionalAggregatorRole.SocketName>, logger: Logger, name: String, region: String) {
        self.loop = loop
        self.logger = logger
        self.name = name
        accepted = Counter(
            label: "fedpulse_updates_accepted_total",
            dimensions: [("role", "region"), ("region", region)]
        )
        declined = Counter(
            label: "fedpulse_updates_declined_total",
            dimensions: [("role", "region"), ("region", region)]
        )
    }

    func perform(_ actions: [ShardAction]) {
        for action in actions {
            switch action {
            case .reject(let reason, let sender, let roundId, let detail):
                loop.messenger.reject(reason, detail: detail, sender: sender, roundId: roundId)
            case .connectUpward(let endpoint, let old):
                if let old { loop.disconnect(.upward, from: old) }
                loop.connect(.upward, to: endpoint)
            case .sendPartial(let partial, let tensors):
                logger.info(
                    "partial sent",
                    metadata: [
                        "round.id": "\(partial.roundId)", "shard": "\(name)",
                        "round.contributors": "\(partial.contributors)",
                        "partial.clipped": "\(partial.clippedCount)", "process.cpu_ms": "\(ProcessCPU.milliseconds)",
                    ]
                )
                loop.send(partial, tensors: tensors, on: .upward)
            case .note(let note):
                log(note)
            }
        }
    }

    private func log(_ note: ShardNote) {
        switch note {
        case .roundOpened(let roundId, let members, let selection, let underDP):
            logger.info(
                "round opened",
                metadata: [
                    "round.id": "\(roundId)", "shard": "\(name)", "round.members": "\(members)",
                    "round.selection": "\(selection.rawValue)", "round.dp": "\(underDP)",
                ]
            )
        case .roundUnreadable(let roundId, let detail):
            logger.warning(
                "round not readable",
                metadata: ["round.id": "\(roundId)", "shard": "\(name)", "round.detail": "\(detail)"]
            )
        case .updateAccepted(let workerId, let roundId, let isDecline):
            (isDecline ? declined : accepted).increment()
            logger.debug(
                "update accepted",
                metadata: ["round.id": "\(roundId)", "update.worker": "\(workerId)", "update.declined": "\(isDecline)"]
            )
        case .updateBuffered(let sender, let roundId, let bytes):
            logger.debug(
                "update buffered",
                metadata: ["round.id": "\(roundId)", "message.sender": "\(sender)", "buffer.bytes": "\(bytes)"]
            )
        }
    }
}

/// libzmq receives each 4 MB update into a buffer of its own, from malloc on its I/O thread.
/// glibc gives the top of a heap back to the kernel once more than its trim threshold (by default
/// twice the adaptive mmap threshold, 8 MB here) is free, which a shard's queue of a few freed
/// updates reaches after every burst: the I/O thread then faults the next buffers' thousand pages
/// each back in (page faults and zeroing cost the shard about as much CPU as summing the update).
/// Keeping up to 64 MiB of freed heap (a queue of eight such updates), and serving blocks up to 32 MiB from the heap, stops that;
/// the process's peak memory is unchanged (the buffers were resident at the peak anyway).
enum ReceiveBuffers {
    static func keepFreedUpdateBuffers() {
        #if canImport(Glibc)
        _ = applied
        #endif
    }

    #if canImport(Glibc)
    /// Once per process; setting the trim threshold switches glibc's adaptive mmap threshold off,
    /// so the mmap threshold is set with it (32 MiB is glibc's largest). `mallopt` is looked up
    /// because Swift's Glibc module leaves out `<malloc.h>`; the option numbers are glibc's ABI.
    private static let applied: Bool = {
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
        let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
        return mallopt(mmapThreshold, 32 << 20) == 1 && mallopt(trimThreshold, 64 << 20) == 1
    }()
    #endif
}
