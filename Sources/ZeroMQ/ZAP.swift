internal import CZeroMQ
import Foundation
import Synchronization

/// Who may connect: CURVE public keys (Z85) mapped to the enrolled name each one proves.
///
/// The name becomes the connection's ZeroMQ User-Id, which every received message carries, so
/// the receiver can compare a message's claimed sender with the key that sent it. The enrolled
/// role travels beside it (``ZAPHandler/roleProperty``), so a receiver can tell an edge key, which
/// speaks for the devices it hosts, from a device key, which speaks for itself only.
public struct CurveAllowlist: Sendable, Equatable {
    /// Z85 public key → enrolled name.
    public private(set) var names: [String: String]
    /// Z85 public key → enrolled role (absent: no role, the property is sent empty).
    public private(set) var roles: [String: String]

    public init(names: [String: String] = [:], roles: [String: String] = [:]) {
        self.names = names
        self.roles = roles
    }

    /// The enrolled name of a key, nil when the key is not enrolled.
    public func name(forPublicKey key: String) -> String? { names[key] }

    /// The enrolled role of a key, nil when none was given.
    public func role(forPublicKey key: String) -> String? { roles[key] }

    public var count: Int { names.count }
}

/// One decision of the ZAP handler, for the caller's log line and counters.
public struct ZAPDecision: Sendable, Equatable {
    /// The enrolled name, nil when refused.
    public let name: String?
    /// The client's public key in Z85 (empty for a non-CURVE mechanism).
    public let publicKey: String
    /// The peer's address as libzmq reports it (IP for TCP).
    public let address: String
    /// The security mechanism the client used (`CURVE`, `NULL`, `PLAIN`).
    public let mechanism: String
    public var isAccepted: Bool { name != nil }
}

/// The process's ZAP handler (RFC 27): admits only enrolled CURVE keys and returns the enrolled
/// name as User-Id.
///
/// Without a handler libzmq admits any client that knows the server's public key; with one
/// bound on `inproc://zeromq.zap.01`, every CURVE server socket of the same context asks it
/// first. It runs on its own thread (a REP socket belongs to one thread) and must be started
/// before any CURVE server socket binds. The allowlist can be replaced at any time
/// (``update(_:)``): revocation needs no restart, and the next handshake of a removed key fails.
public final class ZAPHandler: Sendable {
    public static let endpoint = "inproc://zeromq.zap.01"
    /// The connection property (`zmq_msg_gets`) carrying the enrolled role of the peer's key.
    ///
    /// Set on every accepted handshake, empty when the allowlist has no role for the key: libzmq
    /// keeps a ZAP property over a client's own ZMTP metadata of the same name, so a client that
    /// announces `X-FedPulse-Role: edge:watch` itself cannot pose as an edge.
    public static let roleProperty = "X-FedPulse-Role"
    /// The Z85 public key the handshake proved, beside the name: a receiver checks each message
    /// against the live allowlist, so revoking a key also silences its open connections.
    public static let keyProperty = "X-FedPulse-Key"

    private let context: Context
    private let allowlist: Mutex<CurveAllowlist>
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let onDecision: @Sendable (ZAPDecision) -> Void

    /// - Parameter onDecision: called on the handler's thread for every handshake (log and count here).
    public init(
        context: Context,
        allowlist: CurveAllowlist,
        onDecision: @escaping @Sendable (ZAPDecision) -> Void = { _ in }
    ) {
        self.context = context
        self.allowlist = Mutex(allowlist)
        self.onDecision = onDecision
    }

    /// Replaces the allowlist; takes effect at the next handshake.
    public func update(_ allowlist: CurveAllowlist) {
        self.allowlist.withLock { $0 = allowlist }
    }

    /// The allowlist in force.
    public var current: CurveAllowlist { allowlist.withLock { $0 } }

    /// Binds the handler and starts answering; returns once it is bound, so CURVE servers may bind next.
    public func start() throws(ZeroMQError) {
        let bound = Mutex<Result<Void, ZeroMQError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            func makeSocket() throws(ZeroMQError) -> Socket {
                let socket = try Socket(context, type: .rep)
                try socket.setLinger(0)
                try socket.bind(Self.endpoint)
                return socket
            }
            var failure: ZeroMQError?
            var socket: Socket?
            do throws(ZeroMQError) {
                socket = try makeSocket()
            } catch {
                failure = error
            }
            bound.withLock { $0 = failure.map { .failure($0) } ?? .success(()) }
            ready.signal()
            guard let socket else { return }
            serve(socket)
            finished.store(true, ordering: .releasing)
        }
        thread.name = "zap"
        thread.start()
        ready.wait()
        if case .failure(let error) = bound.withLock({ $0 }) { throw error }
    }

    /// Stops answering within about 100 ms; the socket closes on the handler's thread.
    public func stop() { stopped.store(true, ordering: .releasing) }

    private func serve(_ socket: borrowing Socket) {
        while !stopped.load(ordering: .acquiring) {
            var items = [socket.pollItem()]
            guard (try? poll(&items, timeout: .milliseconds(100))) ?? 0 > 0, items[0].isReadable else { continue }
            guard let request = try? socket.receive(dontWait: true) else { continue }
            let reply = answer(request)
            _ = try? socket.send(reply)
        }
    }

    /// The reply to one request; malformed requests get status 500 (and admit nothing).
    func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
        // version, request id, domain, address, routing id, mechanism, credentials…
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else {
            return Self.reply(
                requestId: frames.count > 1 ? frames[1] : [],
                status: "500",
                text: "malformed ZAP request",
                userId: ""
            )
        }
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        var key = ""
        var name: String?
        var role = ""
        if mechanism == "CURVE", frames.count >= 7, frames[6].count == 32 {
            key = Self.z85(frames[6])
            (name, role) = allowlist.withLock { ($0.name(forPublicKey: key), $0.role(forPublicKey: key) ?? "") }
        }
        onDecision(ZAPDecision(name: name, publicKey: key, address: address, mechanism: mechanism))
        if let name {
            return Self.reply(
                requestId: frames[1],
                status: "200",
                text: "OK",
                userId: name,
                metadata: Self.property(Self.roleProperty, role) + Self.property(Self.keyProperty, key)
            )
        }
        return Self.reply(requestId: frames[1], status: "400", text: "key not enrolled", userId: "")
    }

    private static func reply(
        requestId: [UInt8],
        status: String,
        text: String,
        userId: String,
        metadata: [UInt8] = []
    ) -> [[UInt8]] {
        [Array("1.0".utf8), requestId, Array(status.utf8), Array(text.utf8), Array(userId.utf8), metadata]
    }

    /// One ZMTP metadata property (name length byte, name, 4-byte big-endian value length, value).
    /// Names and roles here are short constants and enrolled roles (≤ 128 bytes by enrolment).
    static func property(_ name: String, _ value: String) -> [UInt8] {
        let nameBytes = Array(name.utf8.prefix(255))
        let valueBytes = Array(value.utf8.prefix(1_024))
        let length = UInt32(valueBytes.count)
        return [UInt8(nameBytes.count)] + nameBytes
            + [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            + valueBytes
    }

    /// Z85 text of a 32-byte key (40 characters), the form key files and allowlists use.
    static func z85(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: bytes.count * 5 / 4 + 1)
        _ = bytes.withUnsafeBufferPointer { zmq_z85_encode(&buffer, $0.baseAddress, bytes.count) }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
