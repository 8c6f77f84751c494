internal import CZeroMQ

/// A failed libzmq call, kept with the call's name so a log line says which step broke.
///
/// libzmq reports failures through `errno`; carrying the call name and the code (and
/// printing `zmq_strerror`) turns "Invalid argument" into something a reader can act on.
public struct ZeroMQError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The libzmq function (and argument, where it helps) that failed.
    public let call: String
    /// The `errno` value libzmq reported.
    public let code: Int32

    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    public var description: String {
        let text = zmq_strerror(code).map { String(cString: $0) } ?? "errno \(code)"
        return "\(call): \(text) (errno \(code))"
    }

    /// `true` when the call timed out or would have blocked; callers treat it as "nothing yet".
    public var isWouldBlock: Bool { code == EAGAIN }

    /// `true` when the socket's context was terminated: the owning loop should stop.
    public var isTerminated: Bool { code == ETERM }
}
