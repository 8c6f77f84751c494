import Learning

/// A randomized Hadamard rotation, x ↦ H·D·x / √n (Suresh et al. 2017), with D a diagonal of
/// random signs drawn from the round's public seed.
///
/// Why: a skewed update (a few large coordinates) forces a coarse quantization step on all of
/// them; the rotation spreads its energy evenly, so each coordinate is about ‖x‖/√n and the
/// quantization error shrinks. The transform is orthogonal (norms are kept, so a clipped update
/// stays inside [−C, C] coordinate-wise) and linear (the same D for the whole cohort, so sums
/// of rotated updates are the rotation of the sum). n is a power of two; shorter vectors are
/// zero-padded first.
struct HadamardRotation: Sendable {
    /// ±1 per coordinate.
    let signs: [Float]

    /// The rotation of length `count` (a power of two) for a round's public seed.
    init(count: Int, seed: UInt64, roundId: Int) {
        var rng = SeededGenerator(seed: seed, stream: 0x726F_7461_7465, UInt64(truncatingIfNeeded: roundId))
        signs = (0..<count).map { _ in rng.next() & 1 == 0 ? 1 : -1 }
    }

    /// The smallest power of two ≥ `count` (1 for 0), or nil past 2^40 (far beyond any model).
    static func paddedCount(_ count: Int) -> Int? {
        var size = 1
        while size < count {
            guard size < 1 << 40 else { return nil }
            size <<= 1
        }
        return size
    }

    /// H·D·x / √n in place; `values.count` must equal `signs.count`.
    func rotate(_ values: inout [Float]) {
        guard values.count == signs.count else { return }
        signs.withUnsafeBufferPointer { signs in Self.transform(&values, signsFirst: signs) }
    }

    /// D·H·x / √n in place: the inverse, since H / √n is symmetric and orthogonal and D² = I.
    func unrotate(_ values: inout [Float]) {
        Self.transform(&values)
        for index in values.indices { values[index] *= signs[index] }
    }

    /// The floats of one cache block: the spans below it run while it is in L1.
    static let blockSize = 1 << 12

    /// The normalized fast Walsh–Hadamard transform, its own inverse (up to float error); with
    /// `signsFirst`, of D·x (each value times its sign, as `rotate` needs) without a pass of its own.
    ///
    /// The same sums in the same order as the textbook loop (one span at a time over the whole
    /// vector, then one scaling pass), so the result is bit for bit the textbook one; only the
    /// order of memory accesses changes:
    /// - each 16 KiB block is signed, then its spans 1, 2 and 4 run in registers eight floats at a
    ///   time, and its spans 8 … 2,048 two at a time while the block is in L1;
    /// - the spans of 4,096 and more sweep the whole vector two at a time, and the last sweep
    ///   also scales: a quarter of the passes over memory the textbook makes.
    static func transform(_ values: inout [Float], signsFirst signs: UnsafeBufferPointer<Float>? = nil) {
        let count = values.count
        guard count > 1 else {
            if count == 1, let sign = signs?.first { values[0] *= sign }
            return
        }
        let block = min(count, blockSize)
        let scale = 1 / Float(count).squareRoot()
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var start = 0
            while start < count {
                if let signs, let signBase = signs.baseAddress {
                    for index in start..<(start + block) { base[index] *= signBase[index] }
                }
                smallSpans(base + start, count: block)
                spanSweeps(base + start, count: block, from: 8, scale: block == count ? scale : nil)
                start += block
            }
            if block < count { spanSweeps(base, count: count, from: block, scale: scale) }
        }
    }

    /// Spans 1, 2 and 4 (those below `count` when it is under 8): each group of eight floats
    /// loaded once, its twelve butterflies in the textbook order, stored once.
    @inline(__always)
    private static func smallSpans(_ base: UnsafeMutablePointer<Float>, count: Int) {
        guard count >= 8 else {
            var half = 1
            while half < count {
                for group in stride(from: 0, to: count, by: 2 * half) {
                    for index in group..<(group + half) {
                        let (a, b) = (base[index], base[index + half])
                        base[index] = a + b
                        base[index + half] = a - b
                    }
                }
                half <<= 1
            }
            return
        }
        var index = 0
        while index < count {
            let p = base + index
            // Span 1.
            let a0 = p[0] + p[1]
            let a1 = p[0] - p[1]
            let a2 = p[2] + p[3]
            let a3 = p[2] - p[3]
            let a4 = p[4] + p[5]
            let a5 = p[4] - p[5]
            let a6 = p[6] + p[7]
            let a7 = p[6] - p[7]
            // Span 2.
            let b0 = a0 + a2
            let b2 = a0 - a2
            let b1 = a1 + a3
            let b3 = a1 - a3
            let b4 = a4 + a6
            let b6 = a4 - a6
            let b5 = a5 + a7
            let b7 = a5 - a7
            // Span 4.
            p[0] = b0 + b4
            p[4] = b0 - b4
            p[1] = b1 + b5
            p[5] = b1 - b5
            p[2] = b2 + b6
            p[6] = b2 - b6
            p[3] = b3 + b7
            p[7] = b3 - b7
            index += 8
        }
    }

    /// The spans `first` (8 or more) … `count`/2 over `count` floats, two per sweep: on each four
    /// floats x₀ = v[i], x₁ = v[i+h], x₂ = v[i+2h], x₃ = v[i+3h] first span h (x₀ ± x₁, x₂ ± x₃),
    /// then span 2h on the results, exactly the butterflies two one-span sweeps would do. A lone
    /// last span gets a sweep of its own. With a `scale`, the last sweep multiplies as it stores
    /// (a pass of its own when there is no span left).
    @inline(__always)
    private static func spanSweeps(_ base: UnsafeMutablePointer<Float>, count: Int, from first: Int, scale: Float?) {
        let raw = UnsafeMutableRawPointer(base)
        let factor = SIMD8<Float>(repeating: scale ?? 1)
        func load(_ index: Int) -> SIMD8<Float> { raw.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self) }
        func store(_ value: SIMD8<Float>, _ index: Int, scaled: Bool) {
            raw.storeBytes(of: scaled ? value * factor : value, toByteOffset: index &* 4, as: SIMD8<Float>.self)
        }
        guard first < count else {
            if let scale { for index in 0..<count { base[index] *= scale } }
            return
        }
        var half = first
        while half < count {
            if 4 * half <= count {
                let last = scale != nil && 4 * half == count
                var group = 0
                while group < count {
                    var i = group
                    while i < group + half {
                        let x0 = load(i)
                        let x1 = load(i + half)
                        let x2 = load(i + 2 * half)
                        let x3 = load(i + 3 * half)
                        let y0 = x0 + x1
                        let y1 = x0 - x1
                        let y2 = x2 + x3
                        let y3 = x2 - x3
                        store(y0 + y2, i, scaled: last)
                        store(y1 + y3, i + half, scaled: last)
                        store(y0 - y2, i + 2 * half, scaled: last)
                        store(y1 - y3, i + 3 * half, scaled: last)
                        i += 8
                    }
                    group += 4 * half
                }
                half <<= 2
            } else {
                // 2·half == count: the last span alone.
                var i = 0
                while i < half {
                    let a = load(i)
                    let b = load(i + half)
                    store(a + b, i, scaled: scale != nil)
                    store(a - b, i + half, scaled: scale != nil)
                    i += 8
                }
                half <<= 1
            }
        }
    }
}
