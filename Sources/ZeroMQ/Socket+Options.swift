internal import CZeroMQ

/// Socket options, with the widths libzmq checks only at run time (int options take an
/// `Int32`, `ZMQ_MAXMSGSIZE` an `Int64`) fixed here once.
extension Socket {
    /// How long `close` may wait to deliver queued messages: 0 in tests, bounded on shutdown.
    public func setLinger(_ milliseconds: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_LINGER, milliseconds, name: "ZMQ_LINGER")
    }

    /// The linger in force, in milliseconds (-1: forever).
    public func linger() throws(ZeroMQError) -> Int32 {
        try int32Option(ZMQ_LINGER, name: "ZMQ_LINGER")
    }

    /// The most messages queued for sending before PUSH blocks or PUB drops.
    public func setSendHighWaterMark(_ messages: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_SNDHWM, messages, name: "ZMQ_SNDHWM")
    }

    /// The most messages queued on receipt before libzmq stops reading from peers.
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_RCVHWM, messages, name: "ZMQ_RCVHWM")
    }

    /// The largest message a peer may send; larger ones disconnect that peer before any
    /// allocation, which bounds what an untrusted sender can make us hold.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZeroMQError) {
        var value = bytes
        try zmqCheck("zmq_setsockopt(ZMQ_MAXMSGSIZE)") {
            zmq_setsockopt(handle, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size)
        }
    }

    /// How many pending connections a bound socket accepts at once (libzmq's default is 100,
    /// which stalls a few hundred workers connecting together).
    public func setBacklog(_ connections: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_BACKLOG, connections, name: "ZMQ_BACKLOG")
    }

    /// A receive timeout in milliseconds (-1: block); `receive` then returns `nil` on expiry.
    public func setReceiveTimeout(_ milliseconds: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_RCVTIMEO, milliseconds, name: "ZMQ_RCVTIMEO")
    }

    /// A send timeout in milliseconds (-1: block); `send` then returns `false` on expiry.
    public func setSendTimeout(_ milliseconds: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_SNDTIMEO, milliseconds, name: "ZMQ_SNDTIMEO")
    }

    /// Queue messages only to completed connections, so PUSH does not park a message on a
    /// peer that is still (or never) connecting.
    public func setImmediate(_ enabled: Bool) throws(ZeroMQError) {
        try setInt32(ZMQ_IMMEDIATE, enabled ? 1 : 0, name: "ZMQ_IMMEDIATE")
    }

    /// Subscribes a SUB socket to every topic that starts with `prefix` ("" for all).
    public func subscribe(_ prefix: String) throws(ZeroMQError) {
        try setBytes(ZMQ_SUBSCRIBE, Array(prefix.utf8), name: "ZMQ_SUBSCRIBE")
    }

    /// Removes a subscription made with ``subscribe(_:)``.
    public func unsubscribe(_ prefix: String) throws(ZeroMQError) {
        try setBytes(ZMQ_UNSUBSCRIBE, Array(prefix.utf8), name: "ZMQ_UNSUBSCRIBE")
    }

    /// The ZAP domain this socket authenticates in; also switches ZAP on for NULL security.
    public func setZAPDomain(_ domain: String) throws(ZeroMQError) {
        try setBytes(ZMQ_ZAP_DOMAIN, Array(domain.utf8), name: "ZMQ_ZAP_DOMAIN")
    }

    /// Adds a `NAME:VALUE` property (`NAME` starting with `X-`) to the metadata this socket
    /// announces in its handshake (`ZMQ_METADATA`, a draft option of libzmq 4.3). FedPulse never
    /// trusts it: tests use it to play a client that announces a role it was not enrolled with.
    public func addHandshakeMetadata(_ property: String) throws(ZeroMQError) {
        try setBytes(Self.metadataOption, Array(property.utf8), name: "ZMQ_METADATA")
    }

    /// `ZMQ_METADATA` (95): only declared by zmq.h under `ZMQ_BUILD_DRAFT_API`.
    static let metadataOption: Int32 = 95

    // MARK: Primitive setters and getters

    func setInt32(_ option: Int32, _ value: Int32, name: String) throws(ZeroMQError) {
        var value = value
        try zmqCheck("zmq_setsockopt(\(name))") {
            zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size)
        }
    }

    func setBytes(_ option: Int32, _ bytes: [UInt8], name: String) throws(ZeroMQError) {
        try zmqCheck("zmq_setsockopt(\(name))") {
            bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        }
    }

    func int32Option(_ option: Int32, name: String) throws(ZeroMQError) -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try zmqCheck("zmq_getsockopt(\(name))") { zmq_getsockopt(handle, option, &value, &size) }
        return value
    }

    func stringOption(_ option: Int32, name: String) throws(ZeroMQError) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        try zmqCheck("zmq_getsockopt(\(name))") { zmq_getsockopt(handle, option, &buffer, &size) }
        let bytes = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
