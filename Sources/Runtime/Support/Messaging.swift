import Crypto
import Foundation
public import Logging
import Metrics
public import Wire
public import ZeroMQ

/// Sending and receiving Wire messages on ZeroMQ sockets, with byte and rejection counters.
///
/// Every role decodes through ``receive(from:)`` so that a malformed message is, in one place,
/// counted under its reason, logged with `reject.reason`, and dropped while the loop goes on.
public struct Messenger: Sendable {
    public let codec: WireCodec
    public let sender: String
    public let role: String
    public let logger: Logger
    private let bytesIn: Counter
    private let bytesOut: Counter

    public init(role: String, sender: String, logger: Logger, limits: WireLimits = .default) {
        self.codec = WireCodec(limits: limits)
        self.sender = sender
        self.role = role
        self.logger = logger
        bytesIn = Counter(label: "fedpulse_bytes_in_total", dimensions: [("role", role)])
        bytesOut = Counter(label: "fedpulse_bytes_out_total", dimensions: [("role", role)])
    }

    /// Encodes and sends; returns the bytes sent (0 when a non-blocking send found the queue full).
    @discardableResult
    public func send<Body: MessageBody>(
        _ body: Body,
        tensors: [Tensor] = [],
        on socket: borrowing Socket,
        dontWait: Bool = false
    ) throws -> Int {
        let frames = try codec.encode(body, sender: sender, sentAtMillis: Clock.nowMillis(), tensors: tensors)
        return try send(frames: frames, on: socket, dontWait: dontWait)
    }

    /// Sends frames that were encoded once and are re-sent (a re-published `round.open`).
    @discardableResult
    public func send(frames: [[UInt8]], on socket: borrowing Socket, dontWait: Bool = false) throws -> Int {
        guard try socket.send(frames, dontWait: dontWait) else { return 0 }
        let size = frames.reduce(0) { $0 + $1.count }
        bytesOut.increment(by: size)
        return size
    }

    /// Receives one waiting message without blocking; `nil` when none is waiting.
    ///
    /// A message that fails to decode comes back as `.failure` after it has been counted and logged.
    public func receive(from socket: borrowing Socket) throws -> Result<AnyMessage, WireError>? {
        guard let frames = try socket.receive(dontWait: true) else { return nil }
        return decode(frames, byteCount: frames.reduce(0) { $0 + $1.count })
    }

    /// Decodes received frames, counting their bytes; a refusal is counted and logged here.
    public func decode(_ frames: [[UInt8]], byteCount: Int) -> Result<AnyMessage, WireError> {
        bytesIn.increment(by: byteCount)
        let result = codec.decode(frames)
        if case .failure(let error) = result { reject(error.code, detail: error.description, sender: nil) }
        return result
    }

    /// Counts and logs one rejected message: the single path for "error + counter + log line".
    public func reject(_ reason: RejectReason, detail: String, sender: String?, roundId: Int? = nil) {
        Counter(label: "fedpulse_rejected_total", dimensions: [("role", role), ("reason", reason.rawValue)]).increment()
        var metadata: Logger.Metadata = ["reject.reason": "\(reason.rawValue)", "reject.detail": "\(detail)"]
        if let sender { metadata["message.sender"] = "\(sender)" }
        if let roundId { metadata["round.id"] = "\(roundId)" }
        logger.warning("message rejected", metadata: metadata)
    }
}

/// Wall-clock milliseconds for deadlines that cross processes (monotonic clocks do not).
public enum Clock {
    public static func nowMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}

/// Hex SHA-256, the digest of model weights in `round.open` and the ledger.
public enum Digest {
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
