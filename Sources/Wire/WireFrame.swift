/// One received frame for ``WireCodec/decode(_:as:)-(([WireFrame]),_)``: bytes in an array, or
/// left in the buffer they were received into.
public enum WireFrame: Sendable {
    case bytes([UInt8])
    case borrowed(BorrowedFrame)

    init(_ storage: Tensor.Storage) {
        switch storage {
        case .array(let bytes): self = .bytes(bytes)
        case .borrowed(let frame): self = .borrowed(frame)
        }
    }

    var storage: Tensor.Storage {
        switch self {
        case .bytes(let bytes): .array(bytes)
        case .borrowed(let frame): .borrowed(frame)
        }
    }

    /// Bytes in the frame.
    public var count: Int {
        switch self {
        case .bytes(let bytes): bytes.count
        case .borrowed(let frame): frame.count
        }
    }

    /// The bytes as an array (a copy for a borrowed frame: for the small topic and header frames).
    public var array: [UInt8] {
        switch self {
        case .bytes(let bytes): bytes
        case .borrowed(let frame): frame.withUnsafeBytes { Array($0) }
        }
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .bytes(let bytes): try bytes.withUnsafeBytes(body)
        case .borrowed(let frame): try frame.withUnsafeBytes(body)
        }
    }

    /// At most the first `length` bytes, copied.
    func prefix(_ length: Int) -> [UInt8] {
        withUnsafeBytes { Array($0.prefix(length)) }
    }
}
