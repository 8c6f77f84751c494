import Logging
import Metrics
import Rounds
import SecureAggregation
import Wire
import ZeroMQ

/// One device's DEALER to its shard's secure-aggregation ROUTER, and its round there.
///
/// A class: it owns a non-copyable socket and lives on the edge loop's thread. The DEALER is
/// a CURVE client with the device's own key (so the shard's ZAP handler proves who it is)
/// of the server enrolled under the shard's name (so only that shard can answer).
final class SecAggDeviceChannel {
    let deviceId: String
    let socket: Socket
    let messenger: Messenger
    var endpoint: String?
    var session: SecAggDeviceSession?
    /// The device's c key, carried from round to round with its cached X25519 outputs (only
    /// while this process lives: a restarted edge draws new keys).
    var cipherKey: SecAggCipherKey?
    /// The masked input waiting out `--send-delay-ms` (the edge's update delay, a test knob).
    var held: (outgoing: SecAggDeviceOutgoing, due: Int64)?

    init(deviceId: String, context: Context, logger: Logger) throws {
        self.deviceId = deviceId
        socket = try Socket(context, type: .dealer)
        try socket.setLinger(1_000)
        messenger = Messenger(role: "edge", sender: deviceId, logger: logger)
    }
}

/// The secure-aggregation side of an edge process: a DEALER for each device that takes part
/// in a secure round (created on its first one; the plain rounds of a large edge never pay a
/// socket for it), polled by the loop while that device's round runs (`pollItems`/`ready`).
///
/// Why the loop polls them and no timer drains them: a 5 ms drain tick tried every running
/// DEALER 200 times a second whether a message waited or not (83 devices per edge), and added up
/// to 5 ms to every stage hop; the loop's poll wakes exactly when the shard answers.
final class SecAggEdge {
    let context: Context
    let security: TransportSecurity
    let logger: Logger
    /// How long a masked input is held back, like a plain update (`--send-delay-ms`).
    let sendDelayMillis: Int64
    private var channels: [String: SecAggDeviceChannel] = [:]
    /// The channels of the last `pollItems()` answer, in its order.
    private var polled: [SecAggDeviceChannel] = []
    /// Keys and shares: a CSPRNG, never the run's seeded generator.
    private var generator = BufferedSystemRandom()
    private let aborted = Counter(label: "fedpulse_secagg_device_aborts_total", dimensions: [("role", "edge")])

    init(context: Context, security: TransportSecurity, logger: Logger, sendDelayMillis: Int64 = 0) {
        self.context = context
        self.security = security
        self.logger = logger
        self.sendDelayMillis = max(0, sendDelayMillis)
    }

    /// When the loop must wake next for this side: a held masked input's due time.
    func nextDue(now: Int64) -> Int64 {
        channels.values.compactMap { $0.held?.due }.min() ?? .max
    }

    /// The DEALERs of the devices whose round is running, for the loop to poll (valid until
    /// the next call: the channels own the sockets and stay in `polled`).
    func pollItems() -> [PollItem] {
        polled = channels.values.filter { $0.session.map { !$0.isOver } ?? false }
        return polled.map { $0.socket.pollItem() }
    }

    /// The loop found messages on these entries of the last `pollItems()` answer.
    func ready(_ indices: [Int], loop: RoleLoop<Int>, now: Int64 = Clock.nowMillis()) {
        for index in indices where polled.indices.contains(index) { drain(polled[index], loop: loop, now: now) }
    }

    /// A selected device's trained delta for a secure round: it clips, quantizes and
    /// advertises its keys; it sends no plain update.
    func start(
        _ open: Message<RoundOpen>,
        assignment: ShardAssignment,
        deviceId: String,
        keys: CurveKeyPair?,
        delta: [Float],
        weight: Int = 1,
        loop: RoleLoop<Int>
    ) {
        let roundId = open.body.roundId
        guard let endpoint = assignment.secureAggregationEndpoint else {
            logger.warning("secure round without the shard's endpoint", metadata: ["round.id": "\(roundId)"])
            return
        }
        do {
            let channel =
                try channels[deviceId] ?? SecAggDeviceChannel(deviceId: deviceId, context: context, logger: logger)
            channels[deviceId] = channel
            if channel.endpoint != endpoint {
                if let old = channel.endpoint { try? channel.socket.disconnect(old) }
                if let keys {
                    let shardName = GlobalRound.aggregatorId(region: assignment.region, shard: assignment.shard)
                    try security.secureClient(channel.socket, of: shardName, as: keys)
                }
                try channel.socket.connect(endpoint)
                channel.endpoint = endpoint
            }
            // Taken out of the old session first, so the new round's cache is not shared (copied).
            if let previous = channel.session { channel.cipherKey = previous.cipherKey }
            channel.session = nil
            let cipherKey = channel.cipherKey
            channel.cipherKey = nil
            switch SecAggDeviceSession.start(
                open,
                assignment: assignment,
                deviceId: deviceId,
                delta: delta,
                weight: weight,
                cipherKey: cipherKey,
                using: &generator
            ) {
            case .success(let started):
                channel.session = started.session
                channel.held = nil
                send(started.first, on: channel, loop: loop)
                logger.debug("secagg keys sent", metadata: ["round.id": "\(roundId)", "worker.id": "\(deviceId)"])
            case .failure(let error):
                channel.cipherKey = cipherKey
                aborted.increment()
                logger.warning(
                    "secure round refused",
                    metadata: [
                        "round.id": "\(roundId)", "worker.id": "\(deviceId)", "secagg.detail": "\(error.detail)",
                    ]
                )
            }
        } catch {
            loop.failed("secagg", "\(deviceId): \(error)")
        }
    }

    /// Sends the masked inputs whose `--send-delay-ms` is over.
    func pump(loop: RoleLoop<Int>, now: Int64 = Clock.nowMillis()) {
        for channel in channels.values {
            if let held = channel.held, now >= held.due {
                channel.held = nil
                send(held.outgoing, on: channel, loop: loop)
            }
        }
    }

    /// Reads up to 64 messages from one device's DEALER and answers the shard.
    private func drain(_ channel: SecAggDeviceChannel, loop: RoleLoop<Int>, now: Int64) {
        guard var session = channel.session, !session.isOver else { return }
        // Out of the channel while it runs, so its key cache has one owner and is not copied.
        channel.session = nil
        for _ in 0..<64 {
            let frames: [[UInt8]]
            do {
                guard let next = try channel.socket.receive(dontWait: true) else { break }
                frames = next
            } catch {
                loop.failed("receive", "secagg \(channel.deviceId): \(error)")
                break
            }
            let size = frames.reduce(0) { $0 + $1.count }
            guard case .success(let message) = channel.messenger.decode(frames, byteCount: size) else { continue }
            // The CURVE handshake proved the server's key is the shard's: that is who sent it.
            let identity = PeerIdentity(
                claimed: message.sender,
                authenticated: security.isSecure ? session.shardId : nil
            )
            for action in session.received(message, from: identity, using: &generator) {
                switch action {
                case .send(let outgoing):
                    if case .masked = outgoing, sendDelayMillis > 0 {
                        channel.held = (outgoing, now + sendDelayMillis)
                    } else {
                        send(outgoing, on: channel, loop: loop)
                    }
                case .reject(let reason, let sender, let detail):
                    channel.messenger.reject(reason, detail: detail, sender: sender, roundId: session.roundId)
                case .abort(let detail):
                    aborted.increment()
                    logger.warning(
                        "secure round aborted",
                        metadata: [
                            "round.id": "\(session.roundId)", "worker.id": "\(channel.deviceId)",
                            "secagg.detail": "\(detail)",
                        ]
                    )
                }
            }
            if session.isOver { break }
        }
        channel.session = session
    }

    private func send(_ outgoing: SecAggDeviceOutgoing, on channel: SecAggDeviceChannel, loop: RoleLoop<Int>) {
        do {
            // `encodeSecAgg`: the same bytes as the messenger's `encode`, without `JSONEncoder`.
            let codec = channel.messenger.codec
            let sender = channel.messenger.sender
            let now = Clock.nowMillis()
            let frames: [[UInt8]]
            switch outgoing {
            case .keys(let framed):
                frames = try codec.encodeSecAgg(framed.body, sender: sender, sentAtMillis: now, tensors: framed.tensors)
            case .shares(let framed):
                frames = try codec.encodeSecAgg(framed.body, sender: sender, sentAtMillis: now, tensors: framed.tensors)
            case .masked(let body, let tensor):
                frames = try codec.encodeSecAgg(body, sender: sender, sentAtMillis: now, tensors: [tensor])
            case .unmaskResponse(let framed):
                frames = try codec.encodeSecAgg(framed.body, sender: sender, sentAtMillis: now, tensors: framed.tensors)
            }
            let sent = try channel.messenger.send(frames: frames, on: channel.socket)
            if sent == 0 { loop.failed("send", "secagg \(channel.deviceId): peer queue full", level: .notice) }
        } catch {
            loop.failed("send", "secagg \(channel.deviceId): \(error)")
        }
    }
}
