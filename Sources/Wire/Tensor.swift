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
    /// The frame, exactly as sent.
    public let bytes: [UInt8]
    /// The number of elements the descriptor declares (bytes ÷ 4 for `f32le`).
    public let elementCount: Int
    /// Lowercase hex SHA-256 of `bytes`, when integrity matters (the model in `round.open`).
    ///
    /// Wire carries it but never computes or checks it (that needs a hash, which lives in the
    /// runtime); a mismatch is the runtime's `digestMismatch`.
    public var sha256: String?

    init(name: String, encoding: TensorEncoding, bytes: [UInt8], elementCount: Int, sha256: String?) {
        self.name = name
        self.encoding = encoding
        self.bytes = bytes
        self.elementCount = elementCount
        self.sha256 = sha256
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
        bytes.withUnsafeBytes { F32LE.decode($0) }
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
        bytes.withUnsafeBytes { raw in
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
        bytes = tensor.bytes.count
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
