/// The binary frames of the `secagg.*` messages: runs of fixed-size records that the header
/// counts (one per neighbour, share or owner), the way tensors travel beside their descriptors.
///
/// Why frames and not JSON: a 501-device round moved ~16 000 key sets and ~16 000 sealed shares
/// as lowercase hex inside headers, and parsing, validating and decoding that hex was the
/// largest single cost of the protocol after X25519. A frame is `ubits` at 8 bits per element
/// (one byte per element, so elements = bytes); its record count comes from the header, and
/// `bytes(of:named:count:size:)` refuses any other size, encoding or name before a byte is read.
public enum SecAggRecords {
    /// Frame `points`: a Shamir evaluation point, UInt32 little-endian.
    public static let point = 4
    /// Frame `keys`: X25519 cipher public key, X25519 mask public key, SHA-256 seed commitment.
    public static let keys = 96
    /// Frame `signatures`: Ed25519 over a device's advertised keys.
    public static let signature = 64
    /// Frame `ciphertexts`: a ChaChaPoly box of two shares (12 + 2 × 72 + 16 bytes).
    public static let ciphertext = 172
    /// Frame `shares`: one Shamir share (8-byte point, eight 8-byte limbs).
    public static let share = 72

    /// A frame holding `bytes` (records already laid end to end).
    public static func frame(_ name: String, _ bytes: [UInt8]) -> Tensor {
        Tensor.encoded(name: name, encoding: .packedBits, bytes: bytes, elementCount: bytes.count)
    }

    /// The bytes of frame `name`: nil unless it exists, is one byte per element, and holds
    /// exactly `count` records of `size` bytes (a count from the header, so at most
    /// `SecAggWireLimits.maxDegree` times a record; the product is checked anyway).
    public static func bytes(of tensors: [Tensor], named name: String, count: Int, size: Int) -> [UInt8]? {
        let (expected, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, count >= 0, size > 0,
            let tensor = tensors.first(where: { $0.name == name }),
            tensor.encoding == .packedBits, tensor.elementCount == expected, tensor.byteCount == expected
        else { return nil }
        return tensor.bytes
    }

    /// Whether every frame's name is one of `names` (a frame nobody reads is refused, not ignored).
    public static func only(_ tensors: [Tensor], _ names: Set<String>) -> Bool {
        tensors.allSatisfy { names.contains($0.name) }
    }
}

/// A `secagg.*` body with its record frames, as a role hands it to the codec (a `Message`
/// without the sender and clock, which the shell fills in).
public struct SecAggFramed<Body: MessageBody>: Sendable, Equatable {
    public var body: Body
    public var tensors: [Tensor]

    public init(body: Body, tensors: [Tensor]) {
        self.body = body
        self.tensors = tensors
    }
}
