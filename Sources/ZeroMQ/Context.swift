internal import CZeroMQ

/// A libzmq context: the I/O threads every socket of a process shares.
///
/// Sockets keep a strong reference to their context because `zmq_ctx_term` blocks while any
/// socket of the context is open; the context is therefore terminated only after the last
/// socket is closed, and never hangs a process on exit.
// zmq contexts are thread-safe (libzmq documents zmq_ctx_* and zmq_socket as callable from
// any thread); the handle is immutable after init.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` libzmq I/O threads.
    ///
    /// One I/O thread moves about a gigabyte a second; more only help with many sockets.
    /// - Parameter maxSockets: libzmq's default is 1023; an edge hosting hundreds of virtual
    ///   devices (three sockets each) needs more.
    public init(ioThreads: Int32 = 1, maxSockets: Int32 = 1_023) throws(ZeroMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZeroMQError(call: "zmq_ctx_new", code: zmq_errno())
        }
        self.handle = handle
        try zmqCheck("zmq_ctx_set(ZMQ_IO_THREADS)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) }
        try zmqCheck("zmq_ctx_set(ZMQ_MAX_SOCKETS)") { zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, maxSockets) }
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// Whether this libzmq was built with a capability such as `"curve"` or `"ipc"`.
    public static func hasCapability(_ name: String) -> Bool {
        zmq_has(name) == 1
    }

    /// The linked libzmq version as `major.minor.patch`, for logs and bug reports.
    public static var libraryVersion: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
