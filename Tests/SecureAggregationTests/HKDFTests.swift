internal import Crypto
import Learning
import Testing

@testable import SecureAggregation

/// `HKDFSHA256` replaced swift-crypto's `HKDF<SHA256>` on the hot path; every key of the
/// protocol comes out of it, so it must give exactly the bytes the generic code gave.
@Suite struct HKDFTests {
    /// RFC 5869 A.2: 80-byte IKM, salt and info, 82 bytes out. The salt is longer than a SHA-256
    /// block, so the HMAC key is hashed first, and the output takes three expand blocks.
    @Test func longInputsMatchRFC5869() {
        let ikm = (0x00...0x4f).map { UInt8($0) }
        let salt = (0x60...0xaf).map { UInt8($0) }
        let info = (0xb0...0xff).map { UInt8($0) }
        let okm = HKDFSHA256.deriveKey(inputKeyMaterial: ikm, salt: salt, info: info, outputByteCount: 82)
        #expect(
            okm
                == hex(
                    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09"
                        + "da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"
                )
        )
    }

    /// RFC 5869 A.1's pseudorandom key is HMAC-SHA256(salt, IKM).
    @Test func extractStepIsRFC5869sPRK() {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        let salt = hex("000102030405060708090a0b0c")
        let prk = salt.withUnsafeBytes { key in
            ikm.withUnsafeBytes { message in
                HKDFSHA256.authenticationCode(key: key) { $0.update(bufferPointer: message) }
            }
        }
        #expect(prk == hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"))
    }

    /// Byte-identical to `HKDF<SHA256>.deriveKey` (what `KeyDerivation.hkdf` called before) over
    /// lengths around every block edge: empty, one block, longer than a block, several outputs.
    @Test func matchesSwiftCryptosGenericHKDF() {
        var generator = SeededGenerator(seed: 0x5eca_99)
        let lengths = [0, 1, 31, 32, 33, 55, 56, 63, 64, 65, 100, 128, 200]
        var compared = 0
        for ikmCount in lengths {
            for saltCount in [0, 13, 32, 64, 65, 80] {
                let infoCount = lengths[(ikmCount + saltCount) % lengths.count]
                let outputCount = [1, 16, 32, 33, 64, 82, 255][(ikmCount + infoCount) % 7]
                let ikm = generator.bytes(ikmCount)
                let salt = generator.bytes(saltCount)
                let info = generator.bytes(infoCount)
                let generic = HKDF<SHA256>.deriveKey(
                    inputKeyMaterial: SymmetricKey(data: ikm),
                    salt: salt,
                    info: info,
                    outputByteCount: outputCount
                )
                let ours = HKDFSHA256.deriveKey(
                    inputKeyMaterial: ikm,
                    salt: salt,
                    info: info,
                    outputByteCount: outputCount
                )
                #expect(
                    ours == generic.withUnsafeBytes { Array($0) },
                    "ikm \(ikmCount) salt \(saltCount) info \(infoCount)"
                )
                compared += 1
            }
        }
        #expect(compared == lengths.count * 6)
    }

    /// The module's own case, which takes the shortcuts (precomputed empty-salt pads, one
    /// expand block): an empty salt and 32 bytes out, over IKM and info lengths around a block.
    @Test func emptySaltThirtyTwoByteKeysMatchTheGenericHKDF() {
        var generator = SeededGenerator(seed: 0x32)
        for ikmCount in [0, 1, 32, 55, 56, 64, 65, 130] {
            for infoCount in [0, 1, 54, 55, 56, 63, 64, 90, 200] {
                let ikm = generator.bytes(ikmCount)
                let info = generator.bytes(infoCount)
                let generic = HKDF<SHA256>.deriveKey(
                    inputKeyMaterial: SymmetricKey(data: ikm),
                    info: info,
                    outputByteCount: 32
                )
                let ours = HKDFSHA256.deriveKey(inputKeyMaterial: ikm, info: info)
                #expect(ours == generic.withUnsafeBytes { Array($0) }, "ikm \(ikmCount) info \(infoCount)")
                #expect(KeyDerivation.hkdf(ikm, info: info) == ours)
            }
        }
    }

    /// The share keys' split path: one extract kept per peer (`SecAggCipherKey`'s cache), then
    /// a T(1) per direction and round, reusing the same extracted value for several infos. Each
    /// key must equal the generic HKDF's over the raw agreement.
    @Test func keptExtractGivesTheGenericHKDFsKeyForEveryInfo() throws {
        var generator = SeededGenerator(seed: 0x5e_a1)
        let own = try SecAggKeyPairs(using: &generator)
        let peer = try SecAggKeyPairs(using: &generator)
        let raw = try KeyDerivation.rawAgreement(privateKey: own.cipher, publicKey: peer.cipherPublicKey)
        let extracted = HKDFSHA256.extract(inputKeyMaterial: raw)
        for (round, ids) in [
            ("r1", ["a", "b"]), ("r1", ["b", "a"]), ("r2", ["a", "b"]),
            (String(repeating: "x", count: 90), ["a", "b"]),
        ] {
            let info = KeyDerivation.info(.shareCipher, roundId: round, ids: ids)
            let generic = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: raw),
                info: info,
                outputByteCount: 32
            )
            let kept = KeyDerivation.key(fromExtracted: extracted, info: info)
            #expect(kept == generic, "round \(round.prefix(4)) ids \(ids)")
            #expect(kept == KeyDerivation.key(fromAgreement: raw, purpose: .shareCipher, roundId: round, ids: ids))
        }
        var cipherKey = SecAggCipherKey(privateKey: own.cipher)
        let info = KeyDerivation.info(.shareCipher, roundId: "r3", ids: ["a", "b"])
        let first = KeyDerivation.key(
            fromExtracted: try cipherKey.extractedAgreement(with: peer.cipherPublicKey),
            info: info
        )
        let cached = KeyDerivation.key(
            fromExtracted: try cipherKey.extractedAgreement(with: peer.cipherPublicKey),
            info: info
        )
        #expect(cipherKey.cachedPeers == 1)
        #expect(first == cached)
        #expect(first == KeyDerivation.key(fromAgreement: raw, purpose: .shareCipher, roundId: "r3", ids: ["a", "b"]))
    }

    /// The HMAC under it is swift-crypto's `HMAC<SHA256>` for keys below, at and above a block.
    @Test func authenticationCodeMatchesSwiftCryptosHMAC() {
        var generator = SeededGenerator(seed: 0x4d_ac)
        for keyCount in [0, 1, 32, 63, 64, 65, 200] {
            let key = generator.bytes(keyCount)
            let message = generator.bytes(keyCount + 7)
            let ours = key.withUnsafeBytes { keyBytes in
                message.withUnsafeBytes { bytes in
                    HKDFSHA256.authenticationCode(key: keyBytes) { $0.update(bufferPointer: bytes) }
                }
            }
            let theirs = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
            #expect(ours == Array(theirs), "key of \(keyCount) bytes")
        }
    }

    /// A request past RFC 5869's 255 blocks gets 255 blocks (swift-crypto's traps instead).
    @Test func outputIsCappedAt255Blocks() {
        let okm = HKDFSHA256.deriveKey(inputKeyMaterial: [1, 2, 3], info: [], outputByteCount: 10_000)
        #expect(okm.count == 255 * 32)
        let short = HKDFSHA256.deriveKey(inputKeyMaterial: [1, 2, 3], info: [], outputByteCount: 32)
        #expect(Array(okm.prefix(32)) == short)
    }
}
