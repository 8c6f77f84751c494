internal import CZeroMQ

/// The ZeroMQ socket patterns FedPulse uses.
///
/// An open set of static members rather than an enum, so that a later pattern (DEALER, say)
/// can be added without breaking exhaustive switches in callers.
public struct SocketType: Hashable, Sendable, CustomStringConvertible {
    let rawValue: Int32
    public let description: String

    /// Broadcasts one-to-many; drops for readers that are absent or slow.
    public static let pub = SocketType(rawValue: ZMQ_PUB, description: "PUB")
    /// Reads broadcasts, filtered by topic prefix.
    public static let sub = SocketType(rawValue: ZMQ_SUB, description: "SUB")
    /// Sends what must not be lost: queues while the reader is away.
    public static let push = SocketType(rawValue: ZMQ_PUSH, description: "PUSH")
    /// Fair-queues what many PUSH sockets send.
    public static let pull = SocketType(rawValue: ZMQ_PULL, description: "PULL")
    /// One-to-one, for in-process wake-ups and tests.
    public static let pair = SocketType(rawValue: ZMQ_PAIR, description: "PAIR")
    /// Answers requests; used by the ZAP authentication handler.
    public static let rep = SocketType(rawValue: ZMQ_REP, description: "REP")
    /// Addresses each peer by the routing id of its connection (a shard's secure-aggregation channel).
    public static let router = SocketType(rawValue: ZMQ_ROUTER, description: "ROUTER")
    /// One device's end of a ROUTER channel: reliable both ways, no slow-joiner loss.
    public static let dealer = SocketType(rawValue: ZMQ_DEALER, description: "DEALER")
}
