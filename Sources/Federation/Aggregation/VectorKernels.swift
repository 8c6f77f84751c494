/// The hot loops of aggregation.
enum VectorKernels {
    /// sum[i] += scale · x[i], eight lanes at a time.
    ///
    /// Explicit `SIMD8` lets the compiler use the widest vectors the target allows (two SSE
    /// registers at baseline x86-64, one AVX register with `-target-cpu native`) and keeps the
    /// loop free of bounds checks; the tail is scalar.
    @inline(__always)
    static func addScaled(_ x: UnsafeBufferPointer<Float>, scale: Float, into sum: UnsafeMutableBufferPointer<Float>) {
        guard let source = x.baseAddress else { return }
        addScaled(raw: UnsafeRawPointer(source), count: x.count, scale: scale, into: sum)
    }

    /// The one SIMD loop: `count` native floats read (unaligned) from `raw`.
    @inline(__always)
    private static func addScaled(
        raw rawSource: UnsafeRawPointer,
        count: Int,
        scale: Float,
        into sum: UnsafeMutableBufferPointer<Float>
    ) {
        let n = min(count, sum.count)
        guard n > 0, let target = sum.baseAddress else { return }
        let rawTarget = UnsafeMutableRawPointer(target)
        let lanes = 8
        let stride = MemoryLayout<SIMD8<Float>>.stride
        let vectors = n / lanes
        let factor = SIMD8<Float>(repeating: scale)
        for v in 0..<vectors {
            let offset = v * stride
            let a = rawSource.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let s = rawTarget.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            rawTarget.storeBytes(of: s + a * factor, toByteOffset: offset, as: SIMD8<Float>.self)
        }
        for i in (vectors * lanes)..<n {
            target[i] += scale * rawSource.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
        }
    }

    /// sum[i] += scale · f32le(bytes[4i..<4i+4]), for possibly misaligned little-endian bytes.
    @inline(__always)
    static func addScaled(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        scale: Float,
        into sum: UnsafeMutableBufferPointer<Float>
    ) {
        guard let source = bytes.baseAddress else { return }
        #if _endian(little)
        // f32le is the host's own layout here: the SIMD loop reads the frame as it is.
        addScaled(raw: source, count: bytes.count / 4, scale: scale, into: sum)
        #else
        let n = min(bytes.count / 4, sum.count)
        guard n > 0, let target = sum.baseAddress else { return }
        for i in 0..<n {
            let bits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            target[i] += scale * Float(bitPattern: bits)
        }
        #endif
    }

    /// Whether sum[i] + scale · f32le(bytes)[i] is finite for every i, computed exactly as
    /// ``addScaled(littleEndianBytes:scale:into:)`` would compute it, so "check, then add" can never
    /// disagree with the addition. A NaN or infinity already in the frame also answers false.
    static func sumStaysFinite(
        adding bytes: UnsafeRawBufferPointer,
        scale: Float,
        to sum: UnsafeBufferPointer<Float>
    ) -> Bool {
        let n = min(bytes.count / 4, sum.count)
        guard n > 0, let source = bytes.baseAddress, let target = sum.baseAddress else { return true }
        let lanes = 8
        let stride = MemoryLayout<SIMD8<Float>>.stride
        let vectors = n / lanes
        let factor = SIMD8<Float>(repeating: scale)
        let rawTarget = UnsafeRawPointer(target)
        // x − x is 0 for a finite x and NaN otherwise; NaN != NaN, so one compare per vector.
        var probe = SIMD8<Float>(repeating: 0)
        for v in 0..<vectors {
            let offset = v * stride
            let a = Self.littleEndianVector(source, offset)
            let s = rawTarget.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let next = s + a * factor
            probe += next - next
        }
        var tail: Float = 0
        for i in (vectors * lanes)..<n {
            let next = target[i] + scale * Self.littleEndianScalar(source, i * 4)
            tail += next - next
        }
        return probe == SIMD8<Float>(repeating: 0) && tail == 0
    }

    /// scratch[i] = sum[i] + scale · f32le(bytes)[i] for every i, and whether every result is
    /// finite: the check and the addition of ``sumStaysFinite(adding:scale:to:)`` and
    /// ``addScaled(littleEndianBytes:scale:into:)`` in one pass over the frame (which also catches a
    /// NaN or infinity in the frame itself). The running sum is only read, so a refused update
    /// leaves it untouched; the caller swaps `scratch` in when the answer is true.
    static func stageSum(
        adding bytes: UnsafeRawBufferPointer,
        scale: Float,
        to sum: UnsafeBufferPointer<Float>,
        into scratch: UnsafeMutableBufferPointer<Float>
    ) -> Bool {
        let n = min(bytes.count / 4, sum.count, scratch.count)
        guard n > 0, let source = bytes.baseAddress, let current = sum.baseAddress, let target = scratch.baseAddress
        else { return true }
        let lanes = 8
        let stride = MemoryLayout<SIMD8<Float>>.stride
        let vectors = n / lanes
        let factor = SIMD8<Float>(repeating: scale)
        let rawCurrent = UnsafeRawPointer(current)
        let rawTarget = UnsafeMutableRawPointer(target)
        var probe = SIMD8<Float>(repeating: 0)
        for v in 0..<vectors {
            let offset = v * stride
            let a = Self.littleEndianVector(source, offset)
            let s = rawCurrent.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            let next = s + a * factor
            probe += next - next
            rawTarget.storeBytes(of: next, toByteOffset: offset, as: SIMD8<Float>.self)
        }
        var tail: Float = 0
        for i in (vectors * lanes)..<n {
            let next = current[i] + scale * Self.littleEndianScalar(source, i * 4)
            tail += next - next
            target[i] = next
        }
        return probe == SIMD8<Float>(repeating: 0) && tail == 0
    }

    /// Whether every `f32le` element has |x| ≤ `limit` (finite, ≥ 0); NaN and ±∞ answer false.
    ///
    /// The fold's read-only pass. On sign-less bit patterns the order of magnitudes is the
    /// integer order, and NaN and ∞ lie above every finite limit, so per element it is one
    /// wrapping subtraction, limit − |x|, whose top bit is set exactly when |x| exceeds the limit;
    /// OR-ing them up costs three instructions per four floats at baseline x86-64 (SSE2 has no
    /// 32-bit max, which a "largest element" pass would need).
    static func magnitudes(littleEndianBytes bytes: UnsafeRawBufferPointer, within limit: Float) -> Bool {
        let n = bytes.count / 4
        guard n > 0, let source = bytes.baseAddress else { return true }
        guard limit >= 0, limit.isFinite else { return false }
        let stride = MemoryLayout<SIMD8<UInt32>>.stride
        let vectors = n / 8
        let bound = SIMD8<UInt32>(repeating: limit.bitPattern)
        let magnitude = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
        var over = SIMD8<UInt32>(repeating: 0)
        for v in 0..<vectors {
            over |= bound &- (Self.littleEndianBits(source, v &* stride) & magnitude)
        }
        var tail: UInt32 = 0
        for i in (vectors &* 8)..<n {
            let bits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
            tail |= limit.bitPattern &- (bits & 0x7FFF_FFFF)
        }
        return (over | SIMD8<UInt32>(repeating: tail)) & SIMD8<UInt32>(repeating: 0x8000_0000) == .zero
    }

    /// Σ f32le(bytes)[i]² when every |x| ≤ `limit`, in the same pass as that check
    /// (``magnitudes(littleEndianBytes:within:)``); nil when some element is above it, NaN or ±∞.
    ///
    /// Why: under DP the shard recomputes every update's norm, which was a pass of its own (and
    /// scalar); this pass already reads each element. The squares of Floats are exact in Double and
    /// are summed in eight Double lanes, so the norm differs from a one-lane sum only in the
    /// order of roundings, a relative 10⁻¹⁰ at 10⁶ elements against the bound's 10⁻⁵ tolerance.
    /// The loop repeats the check's instead of sharing it through closures: sharing measured
    /// 0.48 ms per 10⁶ elements against 0.26 (the sums no longer stayed in registers).
    static func squares(littleEndianBytes bytes: UnsafeRawBufferPointer, within limit: Float) -> Double? {
        let n = bytes.count / 4
        guard n > 0, let source = bytes.baseAddress else { return 0 }
        guard limit >= 0, limit.isFinite else { return nil }
        let stride = MemoryLayout<SIMD8<UInt32>>.stride
        let vectors = n / 8
        let bound = SIMD8<UInt32>(repeating: limit.bitPattern)
        let magnitude = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
        var over = SIMD8<UInt32>(repeating: 0)
        var low = SIMD4<Double>(repeating: 0)
        var high = SIMD4<Double>(repeating: 0)
        for v in 0..<vectors {
            let bits = Self.littleEndianBits(source, v &* stride)
            over |= bound &- (bits & magnitude)
            let x = unsafeBitCast(bits, to: SIMD8<Float>.self)
            let (a, b) = (SIMD4<Double>(x.lowHalf), SIMD4<Double>(x.highHalf))
            low += a * a
            high += b * b
        }
        var tail: UInt32 = 0
        var total = (low + high).sum()
        for i in (vectors &* 8)..<n {
            let bits = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
            tail |= limit.bitPattern &- (bits & 0x7FFF_FFFF)
            let value = Double(Float(bitPattern: bits))
            total += value * value
        }
        let within = (over | SIMD8<UInt32>(repeating: tail)) & SIMD8<UInt32>(repeating: 0x8000_0000) == .zero
        return within ? total : nil
    }

    /// sum[i] += scale · f32le(bytes)[i] in place, from the last element to the first: the same
    /// results as ``addScaled(littleEndianBytes:scale:into:)`` (each element on its own), but right
    /// after ``magnitudes(littleEndianBytes:within:)`` has read the frame front to back, its end is
    /// still in this core's L2, so about half the frame is read from there instead of the L3.
    static func addScaledBackwards(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        scale: Float,
        into sum: UnsafeMutableBufferPointer<Float>
    ) {
        let n = min(bytes.count / 4, sum.count)
        guard n > 0, let source = bytes.baseAddress, let target = sum.baseAddress else { return }
        let rawTarget = UnsafeMutableRawPointer(target)
        let stride = MemoryLayout<SIMD8<Float>>.stride
        let vectors = n / 8
        for i in (vectors &* 8)..<n {
            target[i] += scale * Self.littleEndianScalar(source, i &* 4)
        }
        let factor = SIMD8<Float>(repeating: scale)
        var v = vectors
        while v > 0 {
            v &-= 1
            let offset = v &* stride
            let a = Self.littleEndianVector(source, offset)
            let s = rawTarget.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
            rawTarget.storeBytes(of: s + a * factor, toByteOffset: offset, as: SIMD8<Float>.self)
        }
    }

    /// max |x[i]| (a sum whose bound was forgotten; not hot).
    static func largestMagnitude(of values: UnsafeBufferPointer<Float>) -> Float {
        values.reduce(0) { max($0, $1.magnitude) }
    }

    /// The index of the first NaN or infinity in an `f32le` frame (a refusal's detail; not hot).
    static func firstNonFinite(littleEndianBytes bytes: UnsafeRawBufferPointer) -> Int? {
        guard let source = bytes.baseAddress else { return nil }
        for i in 0..<(bytes.count / 4) where !Self.littleEndianScalar(source, i * 4).isFinite { return i }
        return nil
    }

    /// Σ f32le(bytes)[i]², in Double so a 10⁶-element update does not lose precision.
    static func sumOfSquares(littleEndianBytes bytes: UnsafeRawBufferPointer) -> Double {
        guard let source = bytes.baseAddress else { return 0 }
        var total = 0.0
        for i in 0..<(bytes.count / 4) {
            let value = Double(Self.littleEndianScalar(source, i * 4))
            total += value * value
        }
        return total
    }

    @inline(__always)
    private static func littleEndianVector(_ source: UnsafeRawPointer, _ offset: Int) -> SIMD8<Float> {
        #if _endian(little)
        source.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
        #else
        SIMD8<Float>((0..<8).map { littleEndianScalar(source, offset + $0 * 4) })
        #endif
    }

    @inline(__always)
    private static func littleEndianBits(_ source: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
        #if _endian(little)
        source.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt32>.self)
        #else
        SIMD8<UInt32>(
            (0..<8).map { UInt32(littleEndian: source.loadUnaligned(fromByteOffset: offset + $0 * 4, as: UInt32.self)) }
        )
        #endif
    }

    @inline(__always)
    private static func littleEndianScalar(_ source: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }
}
