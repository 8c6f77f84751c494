#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kernel's CSPRNG, read 256 bytes at a time instead of 8.
///
/// Why: `SystemRandomNumberGenerator.next()` is one `getrandom` system call per 64-bit word,
/// and a device's round draws hundreds of words (Shamir coefficients: 2 secrets × 8 limbs ×
/// (t − 1), a nonce per sealed share, keys, seeds, the quantizer's rounding), which made the
/// calls about 2 % of a 501-device round's CPU. The bytes are the same kernel randomness, just
/// fetched in bulk. A class, not a struct: a copied buffer would hand the same words to two
/// callers. Not `Sendable`: one owner (a role's loop thread) draws from it.
public final class BufferedSystemRandom: RandomNumberGenerator {
    private(set) var buffer = [UInt64](repeating: 0, count: 32)
    private(set) var position = 32
    private var fallback = SystemRandomNumberGenerator()

    public init() {}

    /// Each word is wiped from the buffer as it is handed out: the words become private keys,
    /// seeds and Shamir coefficients, which must not outlive their use in this buffer.
    public func next() -> UInt64 {
        if position == buffer.count { refill() }
        let word = buffer[position]
        buffer[position] = 0
        position += 1
        return word
    }

    private func refill() {
        let filled = buffer.withUnsafeMutableBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return false }
            #if canImport(Glibc)
            // getentropy(3) (getrandom underneath) fills at most 256 bytes per call, all or nothing.
            return getentropy(base, raw.count) == 0
            #elseif canImport(Darwin)
            arc4random_buf(base, raw.count)
            return true
            #else
            return false
            #endif
        }
        if !filled {
            // No bulk source (or it failed): one word at a time from the standard library's.
            for index in buffer.indices { buffer[index] = fallback.next() }
        }
        position = 0
    }
}
