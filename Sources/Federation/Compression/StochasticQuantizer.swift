/// Stochastic rounding of values in [−R, R] to `levels + 1` evenly spaced points.
///
/// Why stochastic and not nearest: rounding up with probability equal to the fractional part
/// makes E[Q(x)] = x for every x inside the range, so the error averages out over a cohort and
/// over rounds instead of biasing the model. It adds a zero-mean error of variance at most
/// step²/4 per coordinate on top of whatever noise is already there; it never removes noise.
/// The range is shared by the cohort (from `round.open`), so levels of different workers add
/// up to the levels of the sum: the encoding is linear, as secure aggregation needs.
struct StochasticQuantizer: Sendable, Equatable {
    /// The highest level: 255 for 8 bits, 15 for 4.
    let levels: Int
    /// R.
    let range: Float

    /// The distance between two adjacent levels, 2R ÷ levels.
    var step: Float { 2 * range / Float(levels) }

    /// The level of `value`: ⌊t⌋ or ⌈t⌉ with t = (value + R) ÷ step, up with probability t − ⌊t⌋.
    /// Values outside the range are clamped to it (the only biased case; under DP a clipped
    /// update's coordinates lie inside it); NaN, which no clamp orders, becomes the middle
    /// level instead of a trapping integer conversion (the edge refuses non-finite deltas
    /// before shaping, so this is a second line of defence, not a path).
    @inline(__always)
    func level(of value: Float, using rng: inout some RandomNumberGenerator) -> Int {
        // Clamped to 0…levels before the conversion: a range the wire accepts ((0, 1e6] as a
        // Double) can be a Float whose step underflows to 0, and then every value scales to +∞
        // (or NaN), which `Int(_:)` traps on. In range, truncation is the floor: one conversion
        // instruction where `rounded(.down)` was a call into libm per value.
        let scaled = (min(max(value.isNaN ? 0 : value, -range), range) + range) / step
        let whole = Int(min(max(0, scaled), Float(levels)))
        let up = Float(rng.next() >> 40) * 0x1p-24 < scaled - Float(whole)
        return min(levels, whole + (up ? 1 : 0))
    }

    /// The value a level stands for.
    @inline(__always)
    func value(ofLevel level: Int) -> Float {
        -range + Float(level) * step
    }
}
