import Foundation

/// A radix-2 complex FFT over split real/imaginary arrays, enough for PLD convolutions.
///
/// Why our own: the PLD accountant convolves vectors of 10⁴–10⁶ probabilities and the module
/// must stay free of non-Apple dependencies. Twiddles come from `cos`/`sin` directly (not a
/// recurrence) so the round-off stays near machine precision even at 2²⁰ points.
struct FFT {
    let count: Int
    private let cosines: [Double]
    private let sines: [Double]

    /// A plan for power-of-two `count`.
    init(count: Int) {
        precondition(count > 0 && count & (count - 1) == 0, "FFT length must be a power of two")
        self.count = count
        let half = max(count / 2, 1)
        var cosines = [Double](repeating: 1, count: half)
        var sines = [Double](repeating: 0, count: half)
        for k in 0..<half {
            let angle = -2 * Double.pi * Double(k) / Double(count)
            cosines[k] = cos(angle)
            sines[k] = sin(angle)
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// The smallest power of two ≥ `n`.
    static func length(atLeast n: Int) -> Int {
        var length = 1
        while length < n { length <<= 1 }
        return length
    }

    /// In-place transform; `inverse` computes the unscaled inverse (divide by `count` yourself).
    func transform(real: inout [Double], imaginary: inout [Double], inverse: Bool) {
        precondition(real.count == count && imaginary.count == count, "FFT input length mismatch")
        let n = count
        let sign: Double = inverse ? -1 : 1
        real.withUnsafeMutableBufferPointer { re in
            imaginary.withUnsafeMutableBufferPointer { im in
                cosines.withUnsafeBufferPointer { cosTable in
                    sines.withUnsafeBufferPointer { sinTable in
                        // Bit-reversal permutation.
                        var j = 0
                        for i in 1..<max(n, 1) {
                            var bit = n >> 1
                            while j & bit != 0 {
                                j ^= bit
                                bit >>= 1
                            }
                            j |= bit
                            if i < j {
                                re.swapAt(i, j)
                                im.swapAt(i, j)
                            }
                        }
                        var size = 2
                        while size <= n {
                            let halfSize = size / 2
                            let stride = n / size
                            var start = 0
                            while start < n {
                                var twiddle = 0
                                for k in start..<(start + halfSize) {
                                    let wr = cosTable[twiddle]
                                    let wi = sign * sinTable[twiddle]
                                    let l = k + halfSize
                                    let tr = re[l] * wr - im[l] * wi
                                    let ti = re[l] * wi + im[l] * wr
                                    re[l] = re[k] - tr
                                    im[l] = im[k] - ti
                                    re[k] += tr
                                    im[k] += ti
                                    twiddle += stride
                                }
                                start += size
                            }
                            size <<= 1
                        }
                    }
                }
            }
        }
    }

    /// Linear convolution of two real sequences.
    static func convolve(_ a: [Double], _ b: [Double]) -> [Double] {
        guard !a.isEmpty, !b.isEmpty else { return [] }
        let outputCount = a.count + b.count - 1
        if min(a.count, b.count) <= 32 {
            // Direct convolution is exact and cheaper when one side is tiny (the identity, say).
            let (long, short) = a.count >= b.count ? (a, b) : (b, a)
            var output = [Double](repeating: 0, count: outputCount)
            for (shift, weight) in short.enumerated() where weight != 0 {
                for index in long.indices {
                    output[index + shift] += weight * long[index]
                }
            }
            return output
        }
        let plan = FFT(count: length(atLeast: outputCount))
        var ar = a + [Double](repeating: 0, count: plan.count - a.count)
        var ai = [Double](repeating: 0, count: plan.count)
        var br = b + [Double](repeating: 0, count: plan.count - b.count)
        var bi = [Double](repeating: 0, count: plan.count)
        plan.transform(real: &ar, imaginary: &ai, inverse: false)
        plan.transform(real: &br, imaginary: &bi, inverse: false)
        for k in 0..<plan.count {
            let r = ar[k] * br[k] - ai[k] * bi[k]
            let i = ar[k] * bi[k] + ai[k] * br[k]
            ar[k] = r
            ai[k] = i
        }
        plan.transform(real: &ar, imaginary: &ai, inverse: true)
        let scale = 1 / Double(plan.count)
        // Round-off can leave tiny negative "probabilities"; they are noise, not mass.
        return (0..<outputCount).map { max(ar[$0] * scale, 0) }
    }

    /// The `times`-fold self-convolution, cyclic modulo `length` (the caller picks a length that
    /// makes the wrapped tail negligible): one forward transform, a pointwise power, one inverse.
    static func cyclicSelfConvolution(_ a: [Double], times: Int, length: Int) -> [Double] {
        precondition(length >= a.count, "cyclic length shorter than input")
        let plan = FFT(count: length)
        var re = a + [Double](repeating: 0, count: length - a.count)
        var im = [Double](repeating: 0, count: length)
        plan.transform(real: &re, imaginary: &im, inverse: false)
        let power = Double(times)
        for k in 0..<length {
            let magnitude = (re[k] * re[k] + im[k] * im[k]).squareRoot()
            if magnitude == 0 { continue }
            let angle = atan2(im[k], re[k]) * power
            let raised = exp(log(magnitude) * power)
            re[k] = raised * cos(angle)
            im[k] = raised * sin(angle)
        }
        plan.transform(real: &re, imaginary: &im, inverse: true)
        let scale = 1 / Double(length)
        return re.map { $0 * scale }
    }
}
