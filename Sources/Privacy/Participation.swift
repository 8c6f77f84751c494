import Crypto

/// Per-device participation counts, keyed by a salted SHA-256 of the device id.
///
/// Why salted hashes: the ledger and metrics may show how often each device took part without
/// naming devices; the salt is random per run (recorded in the ledger header) so keys cannot be
/// linked across runs or recomputed from a list of known ids without it.
///
/// The optional cap bounds how often one device may be selected. The accountant ignores it:
/// capping only removes participations, so the Poisson-sampling bound stays an upper bound.
public struct ParticipationCounter: Hashable, Sendable {
    /// The per-run salt, as lowercase hex.
    public let saltHex: String
    /// At most this many selections per device; nil for no cap.
    public let cap: Int?
    /// Selections so far, by salted key.
    public private(set) var counts: [String: Int] = [:]
    private let salt: [UInt8]

    /// A fresh 32-byte salt from `generator` (production: `SystemRandomNumberGenerator`).
    public static func makeSalt(using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        for _ in 0..<4 {
            var word = generator.next()
            for _ in 0..<8 {
                bytes.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return Hex.encode(bytes)
    }

    /// Resumes with a salt read back from the ledger header; nil if it is not 32 bytes of hex.
    public init?(saltHex: String, cap: Int? = nil) {
        guard let salt = Hex.decode(saltHex), salt.count == 32 else { return nil }
        if let cap, cap < 1 { return nil }
        self.salt = salt
        self.saltHex = saltHex.lowercased()
        self.cap = cap
    }

    /// The salted key of a device: hex SHA-256(salt ‖ UTF-8 id); the salt has a fixed length, so
    /// the concatenation is unambiguous.
    public func key(for deviceID: String) -> String {
        var hasher = SHA256()
        hasher.update(data: salt)
        hasher.update(data: Array(deviceID.utf8))
        return Hex.encode(Array(hasher.finalize()))
    }

    /// How many times the device has been selected.
    public func count(for deviceID: String) -> Int { counts[key(for: deviceID)] ?? 0 }

    /// Whether the device may be selected again under the cap.
    public func isEligible(_ deviceID: String) -> Bool {
        guard let cap else { return true }
        return count(for: deviceID) < cap
    }

    /// Counts one selection; false (and nothing counted) when the device has reached the cap.
    @discardableResult
    public mutating func selectionRecorded(_ deviceID: String) -> Bool {
        guard isEligible(deviceID) else { return false }
        counts[key(for: deviceID), default: 0] += 1
        return true
    }
}

/// Lowercase hex for digests and salts.
enum Hex {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return text
    }

    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    static func sha256(_ bytes: some Sequence<UInt8>) -> String {
        encode(sha256Bytes(bytes))
    }

    static func sha256Bytes(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        return Array(hasher.finalize())
    }
}
