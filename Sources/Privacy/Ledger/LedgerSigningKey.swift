import Crypto

/// The auditor's Ed25519 key: it signs every ledger entry's digest.
///
/// Why a signature on top of the hash chain: a chain alone shows that nothing was edited *since
/// the last honest line*, but anyone who can write the file can edit an entry and recompute every
/// digest and link after it. Only the holder of the private key can produce valid signatures, so
/// `fedpulse audit verify --public-key` (with the public key obtained out of band) catches a
/// re-chained ledger. Deterministic (RFC 8032 Ed25519), so signing needs no randomness here.
public struct LedgerSigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    /// A key from its 32 raw bytes; nil when they are not a valid Ed25519 seed.
    public init?(rawRepresentation bytes: [UInt8]) {
        guard bytes.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes) else {
            return nil
        }
        self.key = key
    }

    /// A key from 64 hex digits (the key file's contents).
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(rawRepresentation: bytes)
    }

    /// A new key from `generator` (production: `SystemRandomNumberGenerator`, the OS CSPRNG).
    public static func generate(using generator: inout some RandomNumberGenerator) -> LedgerSigningKey? {
        var bytes: [UInt8] = []
        while bytes.count < 32 {
            var word = generator.next()
            for _ in 0..<8 {
                bytes.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return LedgerSigningKey(rawRepresentation: bytes)
    }

    /// The private seed as hex, for the key file (mode 0600).
    public var hex: String { Hex.encode(Array(key.rawRepresentation)) }

    /// The key that verifies this key's signatures.
    public var publicKey: LedgerPublicKey { LedgerPublicKey(key.publicKey) }

    /// The hex signature of a 32-byte digest; nil only if the library refuses (it does not for
    /// valid keys).
    func signature(ofDigest digest: [UInt8]) -> String? {
        (try? key.signature(for: digest)).map { Hex.encode(Array($0)) }
    }
}

/// An Ed25519 public key that checks ledger signatures.
public struct LedgerPublicKey: Hashable, Sendable, CustomStringConvertible {
    let key: Curve25519.Signing.PublicKey
    /// The 32 raw bytes as hex (the `.pub` file's contents, and the header's `signingPublicKey`).
    public let hex: String

    init(_ key: Curve25519.Signing.PublicKey) {
        self.key = key
        hex = Hex.encode(Array(key.rawRepresentation))
    }

    /// A key from 64 hex digits; nil when they are not a valid Ed25519 public key.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)
        else { return nil }
        self.init(key)
    }

    /// Whether `signature` (hex) is this key's signature of `digest`.
    func isValidSignature(_ signature: String, ofDigest digest: [UInt8]) -> Bool {
        guard let bytes = Hex.decode(signature), bytes.count == 64 else { return false }
        return key.isValidSignature(bytes, for: digest)
    }

    public var description: String { hex }

    public static func == (lhs: LedgerPublicKey, rhs: LedgerPublicKey) -> Bool { lhs.hex == rhs.hex }
    public func hash(into hasher: inout Hasher) { hasher.combine(hex) }
}

extension LedgerSigningKey: Hashable {
    /// Two keys are the same key when their public halves are (the seed determines both).
    public static func == (lhs: LedgerSigningKey, rhs: LedgerSigningKey) -> Bool { lhs.publicKey == rhs.publicKey }
    public func hash(into hasher: inout Hasher) { hasher.combine(publicKey) }
}
