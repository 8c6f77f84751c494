internal import CZeroMQ

/// One socket or file descriptor watched by ``poll(_:timeout:)``.
///
/// It holds the socket's raw handle, not the socket, so a loop can poll several non-copyable
/// sockets at once; it must not outlive the socket it names.
public struct PollItem {
    var raw: zmq_pollitem_t

    init(socket: UnsafeMutableRawPointer?, fd: Int32, readable: Bool, writable: Bool) {
        var events: Int16 = 0
        if readable { events |= Int16(ZMQ_POLLIN) }
        if writable { events |= Int16(ZMQ_POLLOUT) }
        raw = zmq_pollitem_t(socket: socket, fd: fd, events: events, revents: 0)
    }

    /// Whether the last poll found a message (or, for a descriptor, data) waiting.
    public var isReadable: Bool { raw.revents & Int16(ZMQ_POLLIN) != 0 }
    /// Whether the last poll found room to send.
    public var isWritable: Bool { raw.revents & Int16(ZMQ_POLLOUT) != 0 }
}

/// Waits until one of `items` is ready or `timeout` passes; a role loop's only blocking call.
///
/// - Parameter timeout: `nil` waits forever; the loop passes the time to its nearest deadline.
/// - Returns: how many items are ready (0 on timeout or on a signal interruption, after which
///   the caller simply re-checks its deadlines).
@discardableResult
public func poll(_ items: inout [PollItem], timeout: Duration?) throws(ZeroMQError) -> Int {
    let milliseconds: Int = timeout.map { duration in
        let (seconds, attoseconds) = duration.components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int(max(0, min(total, Int64(Int32.max))))
    } ?? -1
    var raw = items.map { item in
        var copy = item.raw
        copy.revents = 0
        return copy
    }
    let ready = zmq_poll(&raw, Int32(raw.count), milliseconds)
    for index in items.indices { items[index].raw.revents = raw[index].revents }
    if ready >= 0 { return Int(ready) }
    let code = zmq_errno()
    if code == EINTR { return 0 }
    throw ZeroMQError(call: "zmq_poll", code: code)
}
