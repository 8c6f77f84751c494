internal import Crypto
internal import CryptoExtras
internal import Foundation
import Learning
import Testing

@testable import SecureAggregation

/// Published vectors run through the module's own code paths, so a mis-wired primitive
/// (wrong key order, salt, nonce or byte order) shows up as a mismatch, not as a protocol that
/// merely agrees with itself.
@Suite struct PrimitiveVectorTests {
    // RFC 7748 §6.1.
    static let alicePrivate = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    static let alicePublic = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    static let bobPrivate = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    static let bobPublic = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    static let shared = hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")

    @Test func x25519MatchesRFC7748() throws {
        var generator = FixedBytes(Self.alicePrivate + Self.bobPrivate)
        let pairs = try SecAggKeyPairs(using: &generator)
        #expect(pairs.cipherPublicKey == Self.alicePublic)
        #expect(pairs.maskPublicKey == Self.bobPublic)
        #expect(try KeyDerivation.rawAgreement(privateKey: pairs.cipher, publicKey: Self.bobPublic) == Self.shared)
        #expect(try KeyDerivation.rawAgreement(privateKey: pairs.mask, publicKey: Self.alicePublic) == Self.shared)
    }

    @Test func hkdfMatchesRFC5869() {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        // Test case 1: salt and info.
        let okm1 = KeyDerivation.hkdf(
            ikm,
            salt: hex("000102030405060708090a0b0c"),
            info: hex("f0f1f2f3f4f5f6f7f8f9"),
            outputByteCount: 42
        )
        #expect(okm1 == hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
        // Test case 3: empty salt and info, the module's setting.
        let okm3 = KeyDerivation.hkdf(ikm, info: [], outputByteCount: 42)
        #expect(okm3 == hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"))
    }

    @Test func pairwiseSeedIsHKDFOfTheAgreementWithRoundAndIdsInInfo() throws {
        var generator = FixedBytes(Self.alicePrivate + Self.bobPrivate)
        let pairs = try SecAggKeyPairs(using: &generator)
        let seed = try KeyDerivation.pairwiseSeed(
            privateKey: pairs.cipher,
            peerPublicKey: Self.bobPublic,
            roundId: "r7",
            ownId: "bob",
            peerId: "alice"
        )
        let expectedInfo = KeyDerivation.info(.pairwiseMask, roundId: "r7", ids: ["alice", "bob"])
        #expect(seed.withUnsafeBytes { Array($0) } == KeyDerivation.hkdf(Self.shared, info: expectedInfo))
        let otherRound = try KeyDerivation.pairwiseSeed(
            privateKey: pairs.cipher,
            peerPublicKey: Self.bobPublic,
            roundId: "r8",
            ownId: "bob",
            peerId: "alice"
        )
        #expect(otherRound != seed)
    }

    /// RFC 8439 appendix A.1, test vector 1: all-zero key, nonce and counter.
    @Test func maskExpanderIsTheChaCha20Keystream() throws {
        let keystream = hex(
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
                + "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
        )
        let words = FixedBytes(keystream).words
        let expanded = try MaskExpander.expand(
            key: SymmetricKey(data: [UInt8](repeating: 0, count: 32)),
            count: 8,
            bits: 64
        )
        #expect(expanded == words)
        let cut = try MaskExpander.expand(key: SymmetricKey(data: [UInt8](repeating: 0, count: 32)), count: 8, bits: 20)
        #expect(cut == words.map { $0 & 0xFFFFF })
    }

    /// Chunking must not restart the block counter: a mask longer than one chunk equals one
    /// uninterrupted keystream.
    @Test func chunkedMaskIsOneContinuousKeystream() throws {
        var generator = SeededGenerator(seed: 2)
        let key = SymmetricKey(data: generator.bytes(32))
        let count = 2 * MaskExpander.chunkValues + 5
        let nonce = try Insecure.ChaCha20CTR.Nonce(data: [UInt8](repeating: 0, count: 12))
        let whole = Array(try Insecure.ChaCha20CTR.encrypt(Data(count: count * 8), using: key, nonce: nonce))
        #expect(try MaskExpander.expand(key: key, count: count, bits: 64) == FixedBytes(whole).words)
    }

    @Test func sealedSharesOpenOnlyForTheirRoundAndPair() throws {
        var generator = SeededGenerator(seed: 1)
        let key = SymmetricKey(data: generator.bytes(32))
        var shares = try ShamirSharing.split(generator.bytes(32), threshold: 2, points: [1, 2], using: &generator)
        let pair = SharePair(selfMaskSeed: shares.removeFirst(), maskKey: shares.removeFirst())
        let sealed = try ShareCipher.seal(pair, key: key, roundId: "r1", sender: "a", recipient: "b", using: &generator)
        #expect(sealed.ciphertext.count == EncryptedShare.ciphertextByteCount)
        #expect(ShareCipher.open(sealed, key: key, roundId: "r1") == pair)
        #expect(ShareCipher.open(sealed, key: key, roundId: "r2") == nil)
        let relabelled = EncryptedShare(sender: "c", recipient: "b", ciphertext: sealed.ciphertext)
        #expect(ShareCipher.open(relabelled, key: key, roundId: "r1") == nil)
        var flipped = sealed.ciphertext
        flipped[20] ^= 1
        #expect(
            ShareCipher.open(EncryptedShare(sender: "a", recipient: "b", ciphertext: flipped), key: key, roundId: "r1")
                == nil
        )
    }
}
