internal import Crypto
internal import CryptoExtras
internal import Foundation

/// Expands a 32-byte key into a mask of `count` values mod 2^bits with the ChaCha20 keystream.
///
/// A cryptographic PRG, never a general-purpose RNG: Flower's SecAgg+ folds its 32-byte seed to
/// 32 bits and feeds NumPy's generator (flwr issue #7522), so 2^32 guesses unmask a vector.
/// Here the whole 256-bit key drives ChaCha20 (`Insecure.ChaCha20CTR` of swift-crypto's
/// CryptoExtras, BoringSSL underneath); encrypting zeros yields the raw keystream. The nonce is
/// fixed at zero because every key is used once: each comes out of HKDF with the round id and
/// the ids in `info`, so no (key, nonce) pair repeats. 8 keystream bytes make one value, cut to
/// `bits`; 2^bits divides 2^64, so the cut values stay exactly uniform. The 32-bit block
/// counter covers 2^32 × 64 bytes = 2^35 values, far above `SecAggConfiguration.maxLength`.
enum MaskExpander {
    static func expand(key: SymmetricKey, count: Int, bits: Int) throws(SecAggKeyError) -> [UInt64] {
        guard count > 0 else { return [] }
        let keystream: Data
        do {
            let zeros = Data(count: count * 8)
            let nonce = try Insecure.ChaCha20CTR.Nonce(data: [UInt8](repeating: 0, count: 12))
            keystream = try Insecure.ChaCha20CTR.encrypt(zeros, using: key, nonce: nonce)
        } catch {
            throw .invalidKey
        }
        let mask = ModularVector.mask(bits)
        return keystream.withUnsafeBytes { raw in
            (0..<count).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) & mask }
        }
    }
}
