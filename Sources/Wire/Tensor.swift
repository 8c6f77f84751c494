/// One tensor frame together with the descriptor the header carries for it.
///
/// The bytes stay in wire form (the received frame, not copied) so the aggregator can add a
/// 10⁶-element update straight into its running sum with `accumulate(into:scale:)` instead of
/// first building a `[Float]`.
public struct Tensor: Sendable, Equatable {
    /// The role of the tensor in its message (`weights`, `delta`, `sum`, `sumSquares`, `mean`, `std`).
    public let name: String
    /// How `bytes` represent the elements.
    public let encoding: TensorEncoding
    /// The frame's bytes: an array, or the receive buffer itself (``BorrowedFrame``).
    let storage: Storage
    /// The number of elements the descriptor declares (bytes ÷ 4 for `f32le`).
    public let elementCount: Int
    /// Lowercase hex SHA-256 of `bytes`, when integrity matters (the model in `round.open`).
    ///
    /// Wire carries it but never computes or checks it (that needs a hash, which lives in the
    /// runtime); a mismatch is the runtime's `digestMismatch`.
    public var sha256: String?

    enum Storage: Sendable {
        case array([UInt8])
        case borrowed(BorrowedFrame)
    }

    init(name: String, encoding: TensorEncoding, bytes: [UInt8], elementCount: Int, sha256: String?) {
        self.init(name: name, encoding: encoding, storage: .array(bytes), elementCount: elementCount, sha256: sha256)
    }

    init(name: String, encoding: TensorEncoding, storage: Storage, elementCount: Int, sha256: String?) {
        self.name = name
        self.encoding = encoding
        self.storage = storage
        self.elementCount = elementCount
        self.sha256 = sha256
    }

    /// The frame, exactly as sent. A tensor decoded from a borrowed receive buffer copies it
    /// here; hot paths read ``withUnsafeBytes(_:)`` instead.
    public var bytes: [UInt8] {
        switch storage {
        case .array(let bytes): bytes
        case .borrowed(let frame): frame.withUnsafeBytes { Array($0) }
        }
    }

    /// Bytes in the frame.
    public var byteCount: Int {
        switch storage {
        case .array(let bytes): bytes.count
        case .borrowed(let frame): frame.count
        }
    }

    /// The frame's bytes without a copy, whichever storage holds them.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .array(let bytes): try bytes.withUnsafeBytes(body)
        case .borrowed(let frame): try frame.withUnsafeBytes(body)
        }
    }

    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.name == rhs.name && lhs.encoding == rhs.encoding && lhs.elementCount == rhs.elementCount
            && lhs.sha256 == rhs.sha256 && lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.elementsEqual(b) } }
    }

    /// Encodes `values` as an `f32le` tensor; `WireCodec.encode` refuses it if any value is not finite.
    public static func f32le(name: String, _ values: [Float]) -> Tensor {
        Tensor(name: name, encoding: .f32le, bytes: F32LE.encode(values), elementCount: values.count, sha256: nil)
    }

    /// Wraps an already encoded frame (`q8`, `q4`, `gapvarint`) whose bytes the compression
    /// module produced; `WireCodec.encode` checks its length against `elementCount`.
    public static func encoded(name: String, encoding: TensorEncoding, bytes: [UInt8], elementCount: Int) -> Tensor {
        Tensor(name: name, encoding: encoding, bytes: bytes, elementCount: elementCount, sha256: nil)
    }

    /// The elements as floats, read byte-wise so a misaligned frame is fine (`f32le` only).
    public func floats() -> [Float] {
        withUnsafeBytes { F32LE.decode($0) }
    }

    /// Adds `scale × element` into `accumulator` element by element, without an intermediate array.
    ///
    /// Fails with `shapeMismatch` when the counts differ, so the caller cannot mis-add a tensor
    /// that passed the codec but belongs to another model.
    public func accumulate(into accumulator: inout [Float], scale: Float = 1) throws(WireError) {
        guard encoding == .f32le else {
            throw WireError(code: .unsupportedEncoding, detail: "tensor \(name) is \(encoding), not f32le")
        }
        guard accumulator.count == elementCount else {
            throw WireError(
                code: .shapeMismatch,
                detail: "tensor \(name) has \(elementCount) elements, accumulator \(accumulator.count)"
            )
        }
        withUnsafeBytes { raw in
            accumulator.withUnsafeMutableBufferPointer { F32LE.accumulate(raw, into: $0, scale: scale) }
        }
    }
}

/// The header's description of one tensor frame (`tensors[i]` in every schema).
struct TensorDescriptor: Codable, Equatable {
    var name: String
    var encoding: TensorEncoding
    var elements: Int
    var bytes: Int
    var sha256: String?

    init(_ tensor: Tensor) {
        name = tensor.name
        encoding = tensor.encoding
        elements = tensor.elementCount
        bytes = tensor.byteCount
        sha256 = tensor.sha256
    }

    /// Letters first, then letters, digits, `_`, `.`, `-`; at most 64 (schema: same pattern).
    static func isValidName(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        guard let first = utf8.first, utf8.count <= 64, isLetter(first) else { return false }
        return utf8.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}

/// A received frame left in the receive buffer it arrived in (a libzmq message), so a
/// 4 MB update is not copied into an array before it is summed.
///
/// The owner keeps the buffer alive and releases it when the last tensor referring to it goes;
/// the bytes never change while it lives.
public final class BorrowedFrame: @unchecked Sendable {
    private let base: UnsafeRawPointer?
    public let count: Int
    private let owner: AnyObject

    /// - Parameters:
    ///   - base: the first byte (nil only when `count` is 0).
    ///   - owner: whatever frees the buffer when it is released (it must not move the bytes).
    public init(base: UnsafeRawPointer?, count: Int, owner: AnyObject) {
        self.base = count > 0 ? base : nil
        self.count = base == nil ? 0 : max(0, count)
        self.owner = owner
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
    }
}
