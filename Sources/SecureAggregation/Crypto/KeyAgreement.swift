internal import Crypto
internal import Foundation

/// Why a key could not be made or used.
public enum SecAggKeyError: Error, Equatable, Sendable {
    /// A public or private key is not 32 bytes, or X25519 refused it (a low-order point).
    case invalidKey
}

/// A device's two X25519 key pairs for one round: `cipher` keys encrypt the shares sent to each
/// neighbour, `mask` keys seed the pairwise masks. Two pairs, not one, because the mask private
/// key is Shamir-shared (to unmask a dropped device) and must not also open its share mail.
public struct SecAggKeyPairs: Sendable {
    let cipher: Curve25519.KeyAgreement.PrivateKey
    let mask: Curve25519.KeyAgreement.PrivateKey

    /// Draws both private keys from `generator`, which must be a CSPRNG in production
    /// (`SystemRandomNumberGenerator`); tests pass a seeded one to be deterministic.
    public init(using generator: inout some RandomNumberGenerator) throws(SecAggKeyError) {
        do {
            cipher = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: generator.bytes(32))
            mask = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: generator.bytes(32))
        } catch {
            throw .invalidKey
        }
    }

    /// A fresh mask pair beside a cipher key kept from earlier rounds (`SecAggCipherKey`).
    ///
    /// The mask ("s") pair is never kept: the shard rebuilds a dropped device's s secret from its
    /// neighbours' shares, and with an s secret from an earlier round plus the self-mask seed it
    /// learns for every survivor, it could strip every mask from that device's next input.
    init(
        cipher: Curve25519.KeyAgreement.PrivateKey,
        using generator: inout some RandomNumberGenerator
    )
        throws(SecAggKeyError)
    {
        self.cipher = cipher
        do {
            mask = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: generator.bytes(32))
        } catch {
            throw .invalidKey
        }
    }

    public var cipherPublicKey: [UInt8] { Array(cipher.publicKey.rawRepresentation) }
    public var maskPublicKey: [UInt8] { Array(mask.publicKey.rawRepresentation) }

    var maskPrivateBytes: [UInt8] { Array(mask.rawRepresentation) }
}

/// The two public keys a device advertises in the first stage, optionally signed.
///
/// The shard relays every device's keys to its neighbours, so a shard that swapped in its own
/// keys could open the shares sent to that device and, with them, unmask it. A signature by
/// the device's enrolled Ed25519 key over (round, id, both keys) lets each neighbour check that
/// the keys are the device's own (Bonawitz et al. 2017's malicious-server variant).
public struct AdvertisedKeys: Sendable, Hashable {
    public let cipherPublicKey: [UInt8]
    public let maskPublicKey: [UInt8]
    /// SHA-256 commitment to the self-mask seed, so the shard can tell a seed rebuilt from a
    /// wrong share and fail the round instead of releasing a sum with a mask left in it.
    public let seedCommitment: [UInt8]
    /// Ed25519 over `signedBytes`, or empty when the round runs without enrolled signing keys.
    public let signature: [UInt8]

    public init(cipherPublicKey: [UInt8], maskPublicKey: [UInt8], seedCommitment: [UInt8], signature: [UInt8] = []) {
        self.cipherPublicKey = cipherPublicKey
        self.maskPublicKey = maskPublicKey
        self.seedCommitment = seedCommitment
        self.signature = signature
    }

    var isWellFormed: Bool {
        cipherPublicKey.count == 32 && maskPublicKey.count == 32 && seedCommitment.count == 32
            && (signature.isEmpty || signature.count == 64)
    }

    var signedBytes: [UInt8] { cipherPublicKey + maskPublicKey + seedCommitment }

    static func signingDomain(roundId: String, deviceId: String) -> [UInt8] {
        KeyDerivation.info(.advertisement, roundId: roundId, ids: [deviceId])
    }

    /// SHA-256(label | round | id | seed): hiding because the seed is 256 uniform bits.
    static func commitment(toSeed seed: [UInt8], roundId: String, deviceId: String) -> [UInt8] {
        Array(SHA256.hash(data: KeyDerivation.info(.seedCommitment, roundId: roundId, ids: [deviceId]) + seed))
    }

    /// True when `signature` is `deviceId`'s enrolled key's signature of these keys for `roundId`.
    func isSigned(by enrolledKey: [UInt8], roundId: String, deviceId: String) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: enrolledKey) else { return false }
        let message = Self.signingDomain(roundId: roundId, deviceId: deviceId) + signedBytes
        return key.isValidSignature(signature, for: message)
    }
}

/// A device's long-term Ed25519 key, enrolled beside its CURVE key, that signs its per-round keys.
public struct SecAggSigningKey: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public init(using generator: inout some RandomNumberGenerator) throws(SecAggKeyError) {
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: generator.bytes(32)) } catch {
            throw .invalidKey
        }
    }

    /// What the enrolment directory holds for this device.
    public var publicKey: [UInt8] { Array(key.publicKey.rawRepresentation) }

    func sign(_ bytes: [UInt8]) throws(SecAggKeyError) -> [UInt8] {
        do { return Array(try key.signature(for: bytes)) } catch { throw .invalidKey }
    }
}

/// X25519 followed by HKDF-SHA256, with the round and both ids in `info`.
///
/// The raw X25519 output is not a uniform key (swift-crypto's `SharedSecret` says so), and the
/// same key pairs must never give the same key in two rounds or for two purposes: `info` binds
/// the purpose label, the round id and the pair's ids (length-prefixed, so no two tuples encode
/// alike). The salt is empty, as RFC 5869 allows when the input already has entropy.
enum KeyDerivation {
    enum Purpose: String {
        /// Key of the AEAD that carries shares from `first` to `second` (directional: each key
        /// seals exactly one message).
        case shareCipher = "fedpulse.secagg.v1.share"
        /// Seed of the pairwise mask between the two ids (symmetric: ids in sorted order).
        case pairwiseMask = "fedpulse.secagg.v1.pairwise"
        /// Seed of a device's self mask from its 32-byte seed.
        case selfMask = "fedpulse.secagg.v1.self"
        /// Domain of the signature over a device's advertised keys.
        case advertisement = "fedpulse.secagg.v1.advertise"
        /// Domain of the commitment to a device's self-mask seed.
        case seedCommitment = "fedpulse.secagg.v1.commit"
    }

    static func info(_ purpose: Purpose, roundId: String, ids: [String]) -> [UInt8] {
        var info: [UInt8] = []
        info.appendField(purpose.rawValue)
        info.appendField(roundId)
        for id in ids { info.appendField(id) }
        return info
    }

    static func agree(
        privateKey: Curve25519.KeyAgreement.PrivateKey,
        publicKey: [UInt8],
        purpose: Purpose,
        roundId: String,
        ids: [String]
    ) throws(SecAggKeyError) -> SymmetricKey {
        let shared = try rawAgreement(privateKey: privateKey, publicKey: publicKey)
        return key(fromAgreement: shared, purpose: purpose, roundId: roundId, ids: ids)
    }

    /// The key `agree` derives, from an X25519 output computed earlier (a device opens its
    /// neighbours' shares with the agreement it sealed its own with: one X25519 per pair, not two).
    static func key(fromAgreement shared: [UInt8], purpose: Purpose, roundId: String, ids: [String]) -> SymmetricKey {
        SymmetricKey(data: hkdf(shared, info: info(purpose, roundId: roundId, ids: ids)))
    }

    /// The key `key(fromAgreement:…)` derives, from the agreement already extracted
    /// (`SecAggCipherKey`'s cache) and `info` already built (`ShareCipher` authenticates the
    /// same bytes as associated data): byte for byte the same key.
    static func key(fromExtracted extracted: HKDFSHA256.PseudorandomKey, info: [UInt8]) -> SymmetricKey {
        SymmetricKey(data: HKDFSHA256.firstBlock(extracted, info: info))
    }

    /// The X25519 output itself; only ever fed to `hkdf`, never used as a key.
    static func rawAgreement(
        privateKey: Curve25519.KeyAgreement.PrivateKey,
        publicKey: [UInt8]
    ) throws(SecAggKeyError) -> [UInt8] {
        do {
            let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey)
            let shared = try privateKey.sharedSecretFromKeyAgreement(with: peer)
            return shared.withUnsafeBytes { Array($0) }
        } catch {
            throw .invalidKey
        }
    }

    /// HKDF-SHA256 (RFC 5869); every key in the module comes out of here (`HKDFSHA256` says
    /// why not through swift-crypto's generic `HKDF`).
    static func hkdf(
        _ inputKeyMaterial: [UInt8],
        salt: [UInt8] = [],
        info: [UInt8],
        outputByteCount: Int = 32
    ) -> [UInt8] {
        HKDFSHA256.deriveKey(
            inputKeyMaterial: inputKeyMaterial,
            salt: salt,
            info: info,
            outputByteCount: outputByteCount
        )
    }

    /// The pairwise mask seed between `ownId` and `peerId`: both ends compute the same key.
    static func pairwiseSeed(
        privateKey: Curve25519.KeyAgreement.PrivateKey,
        peerPublicKey: [UInt8],
        roundId: String,
        ownId: String,
        peerId: String
    ) throws(SecAggKeyError) -> SymmetricKey {
        try agree(
            privateKey: privateKey,
            publicKey: peerPublicKey,
            purpose: .pairwiseMask,
            roundId: roundId,
            ids: [ownId, peerId].sorted()
        )
    }

    static func selfMaskKey(seed: [UInt8], roundId: String, deviceId: String) -> SymmetricKey {
        SymmetricKey(data: hkdf(seed, info: info(.selfMask, roundId: roundId, ids: [deviceId])))
    }

    static func privateKey(_ raw: [UInt8]) throws(SecAggKeyError) -> Curve25519.KeyAgreement.PrivateKey {
        do { return try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw) } catch { throw .invalidKey }
    }
}
