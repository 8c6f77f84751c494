/// The randomized Hadamard rotation x ↦ H·D·x/√n of the Skellam encoder, in `Double`.
///
/// Why rotate before rounding: the rotation is orthogonal (the L2 norm, hence the sensitivity,
/// is unchanged) and spreads a skewed update's energy evenly, so every coordinate is about
/// ‖x‖/√n; the noisy integer sum then needs fewer bits per value for the same resolution
/// (Kairouz, Liu & Steinke 2021, §4). It is linear with one D for the whole cohort, so the sum
/// of rotated updates is the rotation of the sum and the shard's decoder undoes it once.
///
/// The signs come from a public seed: they hide nothing (privacy comes from the noise), so a
/// fast deterministic generator (SignStream) is enough. `Federation/Compression` has a `Float`
/// rotation of its own; `Privacy` may not import `Federation`, and the encoder needs `Double`.
struct SignedHadamard: Sendable, Hashable {
    /// ±1 per coordinate of the padded length.
    let signs: [Double]

    /// The rotation of `count` coordinates (a power of two) for a public `seed`.
    init(count: Int, seed: UInt64) {
        var state = seed
        signs = (0..<count).map { _ in SignStream.next(&state) & 1 == 0 ? 1 : -1 }
    }

    /// The smallest power of two ≥ `count` (1 for 0), or nil past 2³⁰.
    static func paddedCount(_ count: Int) -> Int? {
        var size = 1
        while size < count {
            guard size < 1 << 30 else { return nil }
            size <<= 1
        }
        return size
    }

    /// H·D·x/√n in place; `values.count == signs.count`.
    func rotate(_ values: inout [Double]) {
        for index in values.indices { values[index] *= signs[index] }
        Self.transform(&values)
    }

    /// D·H·x/√n in place: the inverse, since H/√n is symmetric and orthogonal and D² = I.
    func unrotate(_ values: inout [Double]) {
        Self.transform(&values)
        for index in values.indices { values[index] *= signs[index] }
    }

    /// The normalized fast Walsh–Hadamard transform (its own inverse).
    static func transform(_ values: inout [Double]) {
        let count = values.count
        guard count > 1 else { return }
        values.withUnsafeMutableBufferPointer { buffer in
            var half = 1
            while half < count {
                var block = 0
                while block < count {
                    for index in block..<(block + half) {
                        let a = buffer[index]
                        let b = buffer[index + half]
                        buffer[index] = a + b
                        buffer[index + half] = a - b
                    }
                    block += 2 * half
                }
                half <<= 1
            }
            let scale = 1 / Double(count).squareRoot()
            for index in 0..<count { buffer[index] *= scale }
        }
    }
}

/// Steele, Lea & Flood's SignStream: the public rotation signs, reproducible on every device.
enum SignStream {
    static func next(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
