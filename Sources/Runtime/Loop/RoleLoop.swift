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

    init(_ socket: consuming Socket, isPolled: Bool, decodes: Bool) {
        self.socket = socket
        self.isPolled = isPolled
        self.decodes = decodes
    }
}

/// What arrived on a socket, as the role sees it.
public struct Incoming: Sendable {
    /// The decoded message, or why it was refused (already counted and logged by the loop).
    /// `nil` for a socket added with `decodes: false`: the role decodes ``frames`` itself.
    public let message: Result<AnyMessage, WireError>?
    /// The raw frames, for roles that decode as one topic or cache decodes.
    public let frames: [[UInt8]]
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
    public func add(_ name: SocketName, _ socket: consuming Socket, polled: Bool = true, decodes: Bool = true) {
        table.append((name, LoopSocket(socket, isPolled: polled, decodes: decodes)))
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
    public func run(
        nextTimer: () -> Int64,
        received: (SocketName, Incoming) throws -> Void,
        timer: (Int64) throws -> Void,
        isFinished: () -> Bool = { false },
        now: () -> Int64 = Clock.nowMillis
    ) throws(ZeroMQError) {
        let polled = table.filter { $0.socket.isPolled }
        while !control.shouldStop && !isFinished() {
            var items = [control.wakeup.pollItem()] + polled.map { $0.socket.socket.pollItem() }
            let wait = max(0, min(nextTimer() - now(), 1_000))
            try poll(&items, timeout: .milliseconds(wait))
            if items[0].isReadable { control.wakeup.drain() }
            for (index, entry) in polled.enumerated() where items[index + 1].isReadable {
                drain(entry, received: received)
                if control.shouldStop { break }
            }
            do { try timer(now()) } catch { failed("timer", "\(error)") }
        }
        if control.shouldStop {
            for entry in table { try? entry.socket.socket.setLinger(stopLingerMillis) }
        }
    }

    private func drain(_ entry: (name: SocketName, socket: LoopSocket), received: (SocketName, Incoming) throws -> Void)
    {
        for _ in 0..<batchLimit {
            let frames: [[UInt8]]
            let userId: String?
            let peerRole: String?
            let peerKey: String?
            do {
                guard let next = try entry.socket.socket.receiveFromPeer(dontWait: true) else { return }
                frames = next.frames
                userId = next.userId
                peerRole = next.peerRole
                peerKey = next.peerKey
            } catch {
                failed("receive", "\(entry.name): \(error)")
                return
            }
            if let userId, let security, !security.stillAdmits(name: userId, publicKey: peerKey) {
                messenger.reject(
                    .unauthorizedSender,
                    detail: "the key of \(userId) is no longer enrolled (revoked on a live connection)",
                    sender: userId
                )
                continue
            }
            let size = frames.reduce(0) { $0 + $1.count }
            var message: Result<AnyMessage, WireError>?
            var identity: PeerIdentity?
            if entry.socket.decodes {
                var decoded = messenger.decode(frames, byteCount: size)
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
                try received(
                    entry.name,
                    Incoming(message: message, frames: frames, byteCount: size, identity: identity)
                )
            } catch {
                failed("handler", "\(entry.name): \(error)")
            }
        }
    }
}
