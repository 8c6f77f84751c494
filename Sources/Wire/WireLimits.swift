/// Upper bounds the codec enforces before it trusts any size read from a message.
///
/// Parameters rather than constants so that each role can size them to its socket
/// (`ZMQ_MAXMSGSIZE`) and its model; the encoder applies the same limits, so a message this
/// process writes is one a peer with the same limits accepts.
public struct WireLimits: Sendable, Equatable {
    /// Largest header frame (frame 1), in bytes.
    public var maxHeaderBytes: Int
    /// Most tensor frames after the header.
    public var maxTensors: Int
    /// Most elements one tensor may declare.
    public var maxElementsPerTensor: Int
    /// Largest message, all frames together, in bytes.
    public var maxTotalBytes: Int

    /// Creates limits; the defaults fit a 16 M-parameter model in one 128 MiB message.
    public init(
        maxHeaderBytes: Int = 1 << 20,
        maxTensors: Int = 8,
        maxElementsPerTensor: Int = 16_777_216,
        maxTotalBytes: Int = 128 << 20
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxTensors = maxTensors
        self.maxElementsPerTensor = maxElementsPerTensor
        self.maxTotalBytes = maxTotalBytes
    }

    /// 1 MiB header, 8 tensors, 16 777 216 elements per tensor, 128 MiB per message.
    public static let `default` = WireLimits()
}
