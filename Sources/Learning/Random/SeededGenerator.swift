/// A seedable, portable pseudo-random generator (xoshiro256**, seeded through SplitMix64).
///
/// Every random choice in FedPulse — weight initialisation, minibatch order, synthetic data —
/// must be reproducible from a recorded seed on any platform, so that a round can be replayed
/// and a test can compare bits. `SystemRandomNumberGenerator` cannot be seeded, so the learning
/// core takes `inout some RandomNumberGenerator` and callers pass this generator. xoshiro256**
/// (Blackman and Vigna, 2018) is fast, passes BigCrush, and has a 2^256 − 1 period; SplitMix64
/// expands one 64-bit seed into its four words, as the authors recommend.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Seeds the generator; equal seeds give equal streams on every platform.
    public init(seed: UInt64) {
        var mixer = SplitMix64(state: seed)
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
        // SplitMix64 never yields four zero words in a row, so the all-zero state (the only
        // fixed point of xoshiro) cannot occur.
    }

    /// Seeds the generator from a seed and a path of stream labels.
    ///
    /// Independent streams (one per user, per device class, per round) are derived by mixing
    /// the labels into the seed instead of drawing from a shared generator, so adding a user
    /// never changes the data of another.
    public init(seed: UInt64, stream: UInt64...) {
        var state = seed
        for label in stream {
            var mixer = SplitMix64(state: state ^ (label &* 0x9E37_79B9_7F4A_7C15))
            state = mixer.next()
        }
        self.init(seed: state)
    }

    /// Returns the next 64 random bits.
    ///
    /// Inlinable: the encoders draw one value per parameter from other modules, and a call per
    /// draw cost more than the xoshiro step itself.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = seededRotateLeft(s1 &* 5, by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = seededRotateLeft(s3, by: 45)
        return result
    }
}

@inlinable @inline(__always)
func seededRotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 {
    (x << k) | (x >> (64 - k))
}

/// SplitMix64 (Steele, Lea and Flood, 2014): the seed expander for xoshiro.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
