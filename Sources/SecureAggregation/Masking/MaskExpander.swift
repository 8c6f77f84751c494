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
    /// Values per keystream chunk: 64 KiB of keystream, 1024 ChaCha20 blocks.
    static let chunkValues = 8192

    /// One chunk of zeros to encrypt, made once: slices of it serve every key, so a small
    /// model's k + 1 masks per device no longer each allocate and zero their own.
    static let zeroChunk = Data(count: chunkValues * 8)
    static let zeroNonce = [UInt8](repeating: 0, count: 12)

    /// The whole mask as an array; for tests and small vectors.
    static func expand(key: SymmetricKey, count: Int, bits: Int) throws(SecAggKeyError) -> [UInt64] {
        guard count > 0, var zero = ModularVector.zero(bits: bits, count: count) else { return [] }
        try apply(key: key, to: &zero, subtracting: false)
        return zero.values
    }

    /// Adds (or subtracts) the mask into `vector` chunk by chunk, so a round never holds more
    /// than 64 KiB of keystream however long the model; the block counter continues across
    /// chunks, so the result equals one keystream of the whole length.
    static func apply(key: SymmetricKey, to vector: inout ModularVector, subtracting: Bool) throws(SecAggKeyError) {
        let mask = vector.mask
        let count = vector.values.count
        do {
            let nonce = try Insecure.ChaCha20CTR.Nonce(data: zeroNonce)
            let zeros = zeroChunk
            var start = 0
            while start < count {
                let length = min(chunkValues, count - start)
                let counter = try Insecure.ChaCha20CTR.Counter(offset: UInt32(start / 8))
                let keystream = try Insecure.ChaCha20CTR.encrypt(
                    zeros.prefix(length * 8),
                    using: key,
                    counter: counter,
                    nonce: nonce
                )
                keystream.withUnsafeBytes { raw in
                    vector.combine(from: start, count: length, subtracting: subtracting) { offset in
                        UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset * 8, as: UInt64.self)) & mask
                    }
                }
                start += length
            }
        } catch {
            throw .invalidKey
        }
    }
}
