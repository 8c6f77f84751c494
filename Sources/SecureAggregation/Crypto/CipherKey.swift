internal import Crypto

/// A device's share-encryption ("c") X25519 key, kept across rounds, with the X25519 outputs it
/// already computed, by the peer's public key (kept already extracted: HKDF's PRK as its HMAC
/// pads, so a round's two share keys per peer cost one T(1) each and no extract).
///
/// Why it may outlive a round: the c secret is never Shamir-shared and never revealed to the
/// shard (only the masking "s" secrets of dropped devices are rebuilt), so keeping it gives the
/// shard nothing new. Every round's AEAD key is still fresh: HKDF over the cached agreement
/// with the round id and both ids in `info` (`KeyDerivation.key(fromAgreement:…)`), the round id
/// in the associated data, and a random nonce per box, so a box sealed in round r does not open
/// under round r′'s key. What is lost is forward secrecy of the share mail: whoever steals a
/// device's c secret later can open every box sealed to or by it since the key was made (the
/// shard relayed them all), where a fresh pair per round would bound that to one round. A
/// device that restarts draws a new key; peers then compute one new agreement for it.
public struct SecAggCipherKey: Sendable {
    let privateKey: Curve25519.KeyAgreement.PrivateKey
    private var agreements: [[UInt8]: HKDFSHA256.PseudorandomKey] = [:]

    /// At most this many peers are remembered (the keys come from the shard, so the cache is
    /// bounded); past it the cache starts over. An entry is two SHA-256 states and the peer key,
    /// about 300 bytes, so a full cache is about 1.2 MB per device; a keyed ring keeps it near k.
    public static let cacheLimit = 4_096

    /// Draws the private key from `generator`, a CSPRNG in production.
    public init(using generator: inout some RandomNumberGenerator) throws(SecAggKeyError) {
        privateKey = try KeyDerivation.privateKey(generator.bytes(32))
    }

    init(privateKey: Curve25519.KeyAgreement.PrivateKey) {
        self.privateKey = privateKey
    }

    public var publicKey: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    /// Peers whose agreement is cached (tests and logs).
    public var cachedPeers: Int { agreements.count }

    /// HKDF-extract of X25519(c, peer): from the cache when this peer key was met before, else
    /// computed once (the raw X25519 output is dropped as soon as it is extracted).
    mutating func extractedAgreement(with peerPublicKey: [UInt8]) throws(SecAggKeyError) -> HKDFSHA256.PseudorandomKey {
        if let cached = agreements[peerPublicKey] { return cached }
        let raw = try KeyDerivation.rawAgreement(privateKey: privateKey, publicKey: peerPublicKey)
        let extracted = HKDFSHA256.extract(inputKeyMaterial: raw)
        if agreements.count >= Self.cacheLimit { agreements.removeAll(keepingCapacity: true) }
        agreements[peerPublicKey] = extracted
        return extracted
    }
}
