internal import CZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// Wakes a thread blocked in ``poll(_:timeout:)`` from any other thread.
///
/// A role loop sleeps in `zmq_poll` until a message or its next deadline; commands from the
/// async side (stop, a new model to publish) must not wait for either. `zmq_poll` accepts
/// plain file descriptors, so an `eventfd` written here makes the poll return at once.
public final class Wakeup: Sendable {
    private let fd: Int32

    public init() throws(ZeroMQError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw ZeroMQError(call: "eventfd", code: errno) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Makes the next (or current) poll that watches ``pollItem()`` return; safe from any thread.
    public func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(fd, $0.baseAddress, $0.count) }
    }

    /// Clears pending signals; the loop calls it when the poll reports the item readable.
    public func drain() {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { read(fd, $0.baseAddress, $0.count) }
    }

    /// A poll entry that becomes readable once ``signal()`` has been called.
    public func pollItem() -> PollItem {
        PollItem(socket: nil, fd: fd, readable: true, writable: false)
    }
}
