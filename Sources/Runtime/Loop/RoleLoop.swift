public import Logging
import Metrics
public import Wire
public import ZeroMQ

/// A socket owned by a ``RoleLoop``: a class so that non-copyable sockets can sit in its table.
///
/// It lives and dies on the loop's thread; roles reach it through the loop only for set-up calls
/// the loop does not wrap (a subscription, `bindResolved`).
public final class LoopSocket {
    public let socket: Socket
    /// Whether the loop polls it for reading (a PUSH or PUB is write-only).
    let isPolled: Bool
    /// Whether the loop decodes what arrives (`false`: the role gets raw frames, e.g. an edge that
    /// decodes one broadcast once for all of its devices).
    let decodes: Bool
    /// Whether the role checks every float of a large update itself (see ``RoleLoop/add(_:_:polled:decodes:floatsCheckedByRole:)``).
    let floatsCheckedByRole: Bool

    init(_ socket: consuming Socket, isPolled: Bool, decodes: Bool, floatsCheckedByRole: Bool = false) {
        self.socket = socket
        self.isPolled = isPolled
        self.decodes = decodes
        self.floatsCheckedByRole = floatsCheckedByRole
    }
}

/// What arrived on a socket, as the role sees it.
public struct Incoming: Sendable {
    /// The decoded message, or why it was refused (already counted and logged by the loop).
    /// `nil` for a socket added with `decodes: false`: the role decodes ``frames`` itself.
    public let message: Result<AnyMessage, WireError>?
    /// The raw frames, for roles that decode as one topic or cache decodes (a large frame the
    /// loop left in libzmq's buffer is copied when this is read).
    public var frames: [[UInt8]] { parts.map(\.bytes) }
    let parts: [ReceivedFrame]
    /// Bytes in all frames.
    public let byteCount: Int
    /// Who sent it: the header's claim, and the transport's proof when CURVE is on (a claim
    /// the proof does not cover never reaches the role: it is refused `senderMismatch`, or
    /// `wrongDeviceClass` for a device of another class than its key; see ``SenderBinding``).
    /// For a socket added with `decodes: false`, the proven name alone (nil without CURVE).
    public let identity: PeerIdentity?
}

/// One role's event loop, shared by every role: poll, receive, decode, hand the message to the
/// role's state machine, perform what it asks.
///
/// Why one loop: four hand-written loops repeated socket set-up, polling and draining, and each
/// let a different failure escape. Here a failing action (an encode error, a send that would
/// block, a connect to a bad endpoint) and a throwing handler are counted in
/// `fedpulse_loop_failures_total{role,stage}`, logged, and the loop goes on. Only a failure of
/// `zmq_poll` itself (the context is gone) ends it.
public final class RoleLoop<SocketName: Hashable & Sendable> {
    public let messenger: Messenger
    private let control: LoopControl
    private let security: TransportSecurity?
    private var table: [(name: SocketName, socket: LoopSocket)] = []
    /// How long unsent messages may hold up closing once a stop was requested (SIGTERM): a dead
    /// peer must not keep a role alive for the full linger of its sockets.
    public var stopLingerMillis: Int32 = 500
    /// At most this many messages are taken from one socket per poll, so deadlines and the
    /// other sockets stay responsive under a flood.
    public var batchLimit = 4_096

    /// - Parameter security: the process's transport security; with CURVE every message from a
    ///   server socket is checked against the live allowlist, so a revoked key's open connection
    ///   is refused (`unauthorizedSender`) from the reload on, not only its next handshake.
    public init(control: LoopControl, messenger: Messenger, security: TransportSecurity? = nil) {
        self.control = control
        self.messenger = messenger
        self.security = security
    }

    private var logger: Logger { messenger.logger }

    // MARK: Sockets

    /// Hands a socket to the loop under `name`; polled for reading unless `polled` is false.
    ///
    /// - Parameter floatsCheckedByRole: the role refuses NaN and infinity in every update tensor
    ///   itself, in the pass that sums it (a shard's fused check-and-add), so a large update's
    ///   tensor is decoded without the codec's separate scan: one pass over the floats, not two.
    public func add(
        _ name: SocketName,
        _ socket: consuming Socket,
        polled: Bool = true,
        decodes: Bool = true,
        floatsCheckedByRole: Bool = false
    ) {
        table.append(
            (name, LoopSocket(socket, isPolled: polled, decodes: decodes, floatsCheckedByRole: floatsCheckedByRole))
        )
    }

    /// The socket registered under `name`.
    public func socket(_ name: SocketName) -> LoopSocket? {
        table.first { $0.name == name }?.socket
    }

    // MARK: Actions (never throw: failures are counted and logged)

    /// Encodes and sends a message; `false` (counted, logged) when it could not be sent.
    @discardableResult
    public func send<Body: MessageBody>(
        _ body: Body,
        tensors: [Tensor] = [],
        on name: SocketName,
        dontWait: Bool = false
    ) -> Bool {
        guard let entry = socket(name) else { return failed("send", "no socket \(name)") }
        do {
            return try messenger.send(body, tensors: tensors, on: entry.socket, dontWait: dontWait) > 0
                || failed("send", "\(Body.topic) not queued: peer queue full", level: .notice)
        } catch {
            return failed("send", "\(Body.topic): \(error)")
        }
    }

    /// Sends frames that were encoded once (a re-published broadcast).
    @discardableResult
    public func send(frames: [[UInt8]], on name: SocketName, dontWait: Bool = false) -> Bool {
        guard let entry = socket(name) else { return failed("send", "no socket \(name)") }
        do {
            return try messenger.send(frames: frames, on: entry.socket, dontWait: dontWait) > 0
                || failed("send", "frames not queued: peer queue full", level: .notice)
        } catch {
            return failed("send", "\(error)")
        }
    }

    /// Connects a socket; a bad endpoint from a peer's announcement is counted, not fatal.
    @discardableResult
    public func connect(_ name: SocketName, to endpoint: String) -> Bool {
        guard let entry = socket(name) else { return failed("connect", "no socket \(name)") }
        do {
            try entry.socket.connect(endpoint)
            return true
        } catch {
            return failed("connect", "\(endpoint): \(error)")
        }
    }

    /// Disconnects a socket from an endpoint it was connected to.
    @discardableResult
    public func disconnect(_ name: SocketName, from endpoint: String) -> Bool {
        guard let entry = socket(name) else { return failed("disconnect", "no socket \(name)") }
        do {
            try entry.socket.disconnect(endpoint)
            return true
        } catch {
            return failed("disconnect", "\(endpoint): \(error)")
        }
    }

    /// Counts and logs a failed action; always `false`, for `return failed(…)`.
    @discardableResult
    public func failed(_ stage: String, _ detail: String, level: Logger.Level = .warning) -> Bool {
        Counter(label: "fedpulse_loop_failures_total", dimensions: [("role", messenger.role), ("stage", stage)])
            .increment()
        logger.log(
            level: level,
            "loop action failed",
            metadata: ["loop.stage": "\(stage)", "loop.detail": "\(detail)"]
        )
        return false
    }

    // MARK: Running

    /// Runs until a stop is requested or `isFinished()` says so.
    ///
    /// - Parameters:
    ///   - nextTimer: epoch milliseconds of the role's nearest deadline (the poll timeout).
    ///   - received: one message from one socket; a throw is counted and logged.
    ///   - timer: called after every poll with `now`, so deadlines fire; a throw is counted and logged.
    ///   - isFinished: the role's own end (run over), checked after every poll.
    ///   - roleSockets: poll items of sockets the role owns and opens or closes while the loop
    ///     runs (a device's DEALER for one secure round), asked for before every poll; the
    ///     items must stay valid until the next call.
    ///   - roleSocketsReady: the indices into the last `roleSockets()` answer that have a message.
    public func run(
        nextTimer: () -> Int64,
        received: (SocketName, Incoming) throws -> Void,
        timer: (Int64) throws -> Void,
        isFinished: () -> Bool = { false },
        roleSockets: () -> [PollItem] = { [] },
        roleSocketsReady: ([Int]) -> Void = { _ in },
        now: () -> Int64 = Clock.nowMillis
    ) throws(ZeroMQError) {
        let polled = table.filter { $0.socket.isPolled }
        while !control.shouldStop && !isFinished() {
            let extra = roleSockets()
            var items = [control.wakeup.pollItem()] + polled.map { $0.socket.socket.pollItem() } + extra
            // Saturating: a deadline far in the past or future (Int64.min/max) waits 0 or 1 s, never traps.
            let (remaining, overflow) = nextTimer().subtractingReportingOverflow(now())
            let wait = overflow ? 0 : max(0, min(remaining, 1_000))
            try poll(&items, timeout: .milliseconds(wait))
            if items[0].isReadable { control.wakeup.drain() }
            for (index, entry) in polled.enumerated() where items[index + 1].isReadable {
                drain(entry, received: received)
                if control.shouldStop { break }
            }
            let first = 1 + polled.count
            let ready = extra.indices.filter { items[first + $0].isReadable }
            if !ready.isEmpty { roleSocketsReady(ready) }
            do { try timer(now()) } catch { failed("timer", "\(error)") }
        }
        if control.shouldStop {
            for entry in table { try? entry.socket.socket.setLinger(stopLingerMillis) }
        }
    }

    private func drain(
        _ entry: (name: SocketName, socket: LoopSocket),
        received handle: (SocketName, Incoming) throws -> Void
    ) {
        for _ in 0..<batchLimit {
            let received: ReceivedMessage
            do {
                // Decoded sockets leave large frames in libzmq's buffer: the decoder reads them there.
                let threshold = entry.socket.decodes ? Self.borrowedFrameBytes : nil
                guard let next = try entry.socket.socket.receiveFromPeer(dontWait: true, borrowingFrom: threshold)
                else { return }
                received = next
            } catch {
                failed("receive", "\(entry.name): \(error)")
                return
            }
            let (userId, peerRole) = (received.userId, received.peerRole)
            if let userId, let security, !security.stillAdmits(name: userId, publicKey: received.peerKey) {
                messenger.reject(
                    .unauthorizedSender,
                    detail: "the key of \(userId) is no longer enrolled (revoked on a live connection)",
                    sender: userId
                )
                continue
            }
            let size = received.byteCount
            var message: Result<AnyMessage, WireError>?
            var identity: PeerIdentity?
            if entry.socket.decodes {
                var decoded = decode(
                    received.parts,
                    byteCount: size,
                    scanningFloats: !entry.socket.floatsCheckedByRole
                )
                if case .success(let value) = decoded {
                    // One place for "a message's sender must be its connection's key" (or a
                    // device hosted under that edge key, of the key's class).
                    switch SenderBinding.identity(
                        claimed: value.sender,
                        userId: userId,
                        peerRole: peerRole,
                        deviceClass: SenderBinding.deviceClass(of: value)
                    ) {
                    case .success(let proven):
                        identity = proven
                    case .failure(let error):
                        messenger.reject(error.code, detail: error.detail, sender: value.sender)
                        decoded = .failure(error)
                    }
                }
                message = decoded
            } else if let userId {
                identity = PeerIdentity(claimed: userId, authenticated: userId)
            }
            do {
                try handle(
                    entry.name,
                    Incoming(message: message, parts: received.parts, byteCount: size, identity: identity)
                )
            } catch {
                failed("handler", "\(entry.name): \(error)")
            }
        }
    }

    /// Frames from this size up are decoded where libzmq received them (an update's or a
    /// partial's tensor); smaller ones are copied, which costs less than tracking them.
    static var borrowedFrameBytes: Int { 64 << 10 }

    private lazy var bytesIn = Counter(label: "fedpulse_bytes_in_total", dimensions: [("role", messenger.role)])

    /// Decodes through ``Messenger`` as every role does; an update or a partial with a borrowed
    /// frame is decoded in place (the same checks, the same counters and log lines; an update
    /// without the float scan when the role said it checks them itself).
    private func decode(_ parts: [ReceivedFrame], byteCount: Int, scanningFloats: Bool) -> Result<AnyMessage, WireError>
    {
        let borrowed = parts.contains { if case .message = $0 { true } else { false } }
        guard borrowed else { return messenger.decode(parts.map(\.bytes), byteCount: byteCount) }
        let frames = parts.map { part -> WireFrame in
            switch part {
            case .bytes(let bytes): .bytes(bytes)
            case .message(let frame):
                .borrowed(BorrowedFrame(base: frame.baseAddress, count: frame.count, owner: frame))
            }
        }
        let codec = messenger.codec
        let result: Result<AnyMessage, WireError>
        switch codec.readTopic(frames) {
        case .success(.update):
            result = codec.decode(frames, as: Update.self, scanningFloats: scanningFloats).map(AnyMessage.update)
        case .success(.partial): result = codec.decode(frames, as: Partial.self).map(AnyMessage.partial)
        default: return messenger.decode(parts.map(\.bytes), byteCount: byteCount)
        }
        bytesIn.increment(by: byteCount)
        if case .failure(let error) = result {
            messenger.reject(error.code, detail: error.description, sender: nil)
        }
        return result
    }
}
