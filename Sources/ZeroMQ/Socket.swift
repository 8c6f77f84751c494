internal import CZeroMQ

/// One ZeroMQ socket, owned by exactly one thread.
///
/// libzmq sockets are not thread-safe, so `Socket` is neither copyable nor `Sendable`: the
/// compiler keeps it on the thread (role loop) that created it. It closes itself on `deinit`;
/// set ``setLinger(_:)`` first to decide how long unsent messages may hold up the close.
public struct Socket: ~Copyable {
    let handle: UnsafeMutableRawPointer
    /// Keeps the context alive while this socket is open (`zmq_ctx_term` would block otherwise).
    private let context: Context
    /// One reusable message buffer: a `zmq_msg_t` must not be copied by Swift, so it lives on
    /// the heap for the socket's lifetime.
    private let message: UnsafeMutablePointer<zmq_msg_t>
    public let type: SocketType

    public init(_ context: Context, type: SocketType) throws(ZeroMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZeroMQError(call: "zmq_socket(\(type))", code: zmq_errno())
        }
        self.handle = handle
        self.context = context
        self.type = type
        self.message = .allocate(capacity: 1)
    }

    deinit {
        zmq_close(handle)
        message.deallocate()
    }

    /// Binds to an endpoint such as `tcp://127.0.0.1:*` or `ipc:///tmp/x`.
    public func bind(_ endpoint: String) throws(ZeroMQError) {
        try zmqCheck("zmq_bind(\(endpoint))") { zmq_bind(handle, endpoint) }
    }

    /// Connects to an endpoint; libzmq connects (and reconnects) in the background.
    public func connect(_ endpoint: String) throws(ZeroMQError) {
        try zmqCheck("zmq_connect(\(endpoint))") { zmq_connect(handle, endpoint) }
    }

    /// Disconnects from an endpoint previously connected, e.g. a shard that left the topology.
    public func disconnect(_ endpoint: String) throws(ZeroMQError) {
        try zmqCheck("zmq_disconnect(\(endpoint))") { zmq_disconnect(handle, endpoint) }
    }

    /// The endpoint libzmq actually bound, which resolves the port of a `tcp://host:*` bind.
    public func lastEndpoint() throws(ZeroMQError) -> String {
        try stringOption(ZMQ_LAST_ENDPOINT, name: "ZMQ_LAST_ENDPOINT")
    }

    /// Binds and returns the resolved endpoint: the usual way to get a free port without guessing.
    public func bindResolved(_ endpoint: String) throws(ZeroMQError) -> String {
        try bind(endpoint)
        return try lastEndpoint()
    }

    // MARK: Multipart

    /// Sends all frames as one multipart message, atomically.
    ///
    /// - Returns: `false` when `dontWait` is set and the message was not queued: the high-water
    ///   mark was reached, or the peer's pipe died in the middle of the message. `true` once queued.
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZeroMQError) -> Bool {
        precondition(!frames.isEmpty, "a multipart message needs at least one frame")
        let baseFlags = dontWait ? ZMQ_DONTWAIT : 0
        var dropped = false
        for (index, frame) in frames.enumerated() {
            let flags = baseFlags | (index < frames.count - 1 ? ZMQ_SNDMORE : 0)
            let result = try zmqCall("zmq_send") {
                frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            }
            guard case .wouldBlock = result else { continue }
            // Only the first frame meets the high-water mark (parts are queued atomically), and
            // then nothing is queued yet.
            if index == 0 { return false }
            // A later part is refused only when the peer's pipe died mid-message (libzmq's
            // lb_t::sendpipe, a session ended by a protocol error or a disconnect under
            // ZMQ_IMMEDIATE); libzmq drops the rest of the message as it comes, so the rest is
            // sent to close it and the message counts as not queued.
            dropped = true
        }
        return !dropped
    }

    /// Receives one whole multipart message.
    ///
    /// - Returns: `nil` when `dontWait` is set (or a receive timeout is set) and nothing arrived.
    public func receive(dontWait: Bool = false) throws(ZeroMQError) -> [[UInt8]]? {
        try receiveWithUserId(dontWait: dontWait)?.frames
    }

    /// Receives one whole multipart message with the User-Id of the connection it came in on.
    ///
    /// The User-Id is what the process's ZAP handler returned for the peer's key (the enrolled
    /// name); it is nil when the socket is not authenticated.
    public func receiveWithUserId(dontWait: Bool = false) throws(ZeroMQError) -> (frames: [[UInt8]], userId: String?)? {
        try receiveFromPeer(dontWait: dontWait).map { ($0.frames, $0.userId) }
    }

    /// Receives one whole multipart message with what the transport proved about its sender.
    ///
    /// The properties are read from the first frame (`zmq_msg_gets`), which every frame of a
    /// message shares: the User-Id (the enrolled name the ZAP handler returned), the enrolled
    /// role (``ZAPHandler/roleProperty``) and the proven key (``ZAPHandler/keyProperty``); all
    /// nil on an unauthenticated socket.
    ///
    /// - Parameter borrowingFrom: frames of at least this many bytes stay in libzmq's receive
    ///   buffer (``MessageFrame``) instead of being copied into an array: a 4 MB update is then
    ///   read in place by whoever sums it. Nil copies every frame.
    public func receiveFromPeer(
        dontWait: Bool = false,
        borrowingFrom threshold: Int? = nil
    ) throws(ZeroMQError)
        -> ReceivedMessage?
    {
        var parts: [ReceivedFrame] = []
        var userId: String?
        var role: String?
        var key: String?
        let flags = dontWait ? ZMQ_DONTWAIT : 0
        repeat {
            try zmqCheck("zmq_msg_init") { zmq_msg_init(message) }
            defer { zmq_msg_close(message) }
            let result = try zmqCall("zmq_msg_recv") { zmq_msg_recv(message, handle, parts.isEmpty ? flags : 0) }
            guard case .done(let size) = result else {
                // Only the first frame can be missing: later parts arrive with the first.
                return nil
            }
            // The first frame that carries them: a ROUTER's routing-id frame is made locally and,
            // when libzmq prefetched the message, comes without the connection's metadata.
            if userId == nil {
                userId = property("User-Id")
                // A role is only meaningful under a proven name: without ZAP a client's own
                // metadata could carry the property.
                role = userId == nil ? nil : property(ZAPHandler.roleProperty)
                key = userId == nil ? nil : property(ZAPHandler.keyProperty)
            }
            let count = Int(size)
            if let threshold, count >= threshold, let frame = MessageFrame(taking: message) {
                parts.append(.message(frame))
            } else if count > 0, let data = zmq_msg_data(message) {
                parts.append(.bytes(Array(UnsafeRawBufferPointer(start: data, count: count))))
            } else {
                parts.append(.bytes([]))
            }
        } while try moreFramesFollow()
        return ReceivedMessage(parts: parts, userId: userId, peerRole: role, peerKey: key)
    }

    /// A non-empty connection property of the message buffer, nil when absent or empty.
    private func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(message, name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// Reads `ZMQ_RCVMORE`, which (unlike `zmq_msg_more`) stays valid after the message buffer
    /// has been closed and reused.
    private func moreFramesFollow() throws(ZeroMQError) -> Bool {
        try int32Option(ZMQ_RCVMORE, name: "ZMQ_RCVMORE") != 0
    }

    /// A poll entry watching this socket for readability.
    public func pollItem(readable: Bool = true, writable: Bool = false) -> PollItem {
        PollItem(socket: handle, fd: 0, readable: readable, writable: writable)
    }
}

/// One received multipart message and what the transport proved about who sent it.
public struct ReceivedMessage: Sendable {
    /// The frames, each copied or left in libzmq's buffer.
    public var parts: [ReceivedFrame]
    /// The enrolled name of the peer's key (ZAP User-Id), nil when unauthenticated.
    public var userId: String?
    /// The enrolled role of the peer's key (e.g. `edge:watch`), nil when unauthenticated or unknown.
    public var peerRole: String?
    /// The Z85 public key the peer's handshake proved (``ZAPHandler/keyProperty``), nil when unauthenticated.
    public var peerKey: String?

    public init(parts: [ReceivedFrame], userId: String?, peerRole: String?, peerKey: String? = nil) {
        self.parts = parts
        self.userId = userId
        self.peerRole = peerRole
        self.peerKey = peerKey
    }

    public init(frames: [[UInt8]], userId: String?, peerRole: String?, peerKey: String? = nil) {
        self.init(parts: frames.map(ReceivedFrame.bytes), userId: userId, peerRole: peerRole, peerKey: peerKey)
    }

    /// Every frame as an array (borrowed frames are copied here).
    public var frames: [[UInt8]] { parts.map(\.bytes) }

    /// Bytes in all frames.
    public var byteCount: Int { parts.reduce(0) { $0 + $1.count } }
}

/// One frame of a received message.
public enum ReceivedFrame: Sendable {
    case bytes([UInt8])
    case message(MessageFrame)

    public var count: Int {
        switch self {
        case .bytes(let bytes): bytes.count
        case .message(let frame): frame.count
        }
    }

    /// The frame as an array (a copy for a borrowed one).
    public var bytes: [UInt8] {
        switch self {
        case .bytes(let bytes): bytes
        case .message(let frame): frame.withUnsafeBytes { Array($0) }
        }
    }
}

/// A received frame left where libzmq put it (`zmq_msg_t`), closed when the last reference goes.
///
/// libzmq receives a large message straight into a buffer of its own; taking over the message
/// (`zmq_msg_move`) instead of copying it saves a copy and an allocation of the frame's size.
/// The bytes never change while the frame lives, and a `zmq_msg_t` may be closed on any thread
/// (its buffer is reference-counted atomically), so it can travel with a decoded message.
public final class MessageFrame: @unchecked Sendable {
    private let message: UnsafeMutablePointer<zmq_msg_t>
    public let count: Int

    /// Moves `source`'s content into a new frame; nil when libzmq refuses (then `source` is intact).
    init?(taking source: UnsafeMutablePointer<zmq_msg_t>) {
        message = .allocate(capacity: 1)
        guard zmq_msg_init(message) == 0, zmq_msg_move(message, source) == 0 else {
            message.deallocate()
            return nil
        }
        count = zmq_msg_size(message)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    /// The first byte, nil for an empty frame.
    public var baseAddress: UnsafeRawPointer? {
        count > 0 ? zmq_msg_data(message).map { UnsafeRawPointer($0) } : nil
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(UnsafeRawBufferPointer(start: baseAddress, count: count)) }
    }
}
