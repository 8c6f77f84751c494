// Usage (helper `secagg`: the device before masking, the shard after unmasking):
//
//     let parameters = SkellamParameters(clipNorm: c, scale: γ, deviceVariance: μ,
//                                        dimension: d, valueBits: k, rotationSeed: seed)
//     // parameters.problem(cohort: n, modulusBits: b) must be nil before the round starts.
//     // Device:
//     var rng = SystemRandomNumberGenerator()
//     let integers = try SkellamEncoder(parameters)?.encode(update: delta, rng: &rng)
//     // → encodedDimension values in ±(2^(k−1) − 1); reduce mod 2^b (two's complement) and mask.
//     // Shard, once the masks are gone (ModularVector.signedValues):
//     let sum = SkellamDecoder(parameters)?.decode(sum: signed, survivors: n)
//     // → the float sum of the n clipped updates plus the noise, length d (no division by n).
//
// The shard must not release a sum of fewer devices than the round's `minimumSurvivors`.

/// Why a device could not encode its update.
public enum SkellamEncodingError: Error, Hashable, Sendable {
    /// The update's length differs from the parameters' dimension.
    case wrongLength(expected: Int, got: Int)
    /// A coordinate is NaN or infinite.
    case notFinite
    /// Conditional rounding did not land inside the norm bound in `maxRoundingAttempts` draws
    /// (probability below β^attempts for a correctly clipped input).
    case roundingDidNotConverge
    /// A noisy value left ±(2^(k−1) − 1); probability ≤ 2⁻⁴⁰ for accepted parameters. The device
    /// sends nothing this round (a dropout) rather than a value that could wrap the sum.
    case valueOutOfRange
}

/// The device side of the distributed Skellam mechanism: clip, rotate, scale, round
/// conditionally, add Sk(μ) per coordinate.
public struct SkellamEncoder: Sendable {
    /// Redraws of the rounding before giving up; each succeeds with probability ≥ 1 − β.
    public static let maxRoundingAttempts = 1_000

    public let parameters: SkellamParameters
    let rotation: SignedHadamard?

    /// Nil when `parameters.problem` is not nil.
    public init?(_ parameters: SkellamParameters) {
        guard parameters.problem == nil else { return nil }
        self.parameters = parameters
        self.rotation = parameters.rotation
    }

    /// The noisy integers this device contributes, `encodedDimension` of them.
    ///
    /// `rng` must be `SystemRandomNumberGenerator` outside tests: it draws both the rounding
    /// and the noise.
    public func encode(
        update: [Float],
        rng: inout some RandomNumberGenerator
    ) throws(SkellamEncodingError) -> [Int64] {
        var rounded = try round(update, using: &rng)
        let largest = parameters.largestValue
        for index in rounded.indices {
            guard let noise = PoissonSampler.skellam(variance: parameters.deviceVariance, using: &rng) else {
                throw .valueOutOfRange
            }
            let value = rounded[index] + noise
            guard abs(value) <= largest else { throw .valueOutOfRange }
            rounded[index] = value
        }
        return rounded
    }

    /// Clipped, rotated, scaled and conditionally rounded, without noise: ‖result‖₂ ≤ Δ2.
    func round(
        _ update: [Float],
        using rng: inout some RandomNumberGenerator
    ) throws(SkellamEncodingError)
        -> [Int64]
    {
        guard update.count == parameters.dimension else {
            throw .wrongLength(expected: parameters.dimension, got: update.count)
        }
        guard update.allSatisfy(\.isFinite) else { throw .notFinite }
        var values = update.map(Double.init)
        let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let factor = norm > parameters.clipNorm ? parameters.clipNorm / norm : 1
        for index in values.indices { values[index] *= factor * parameters.scale }
        if let rotation {
            values += [Double](repeating: 0, count: parameters.encodedDimension - values.count)
            rotation.rotate(&values)
        }
        let accepted = parameters.acceptedSquaredNorm
        for _ in 0..<Self.maxRoundingAttempts {
            if let rounded = Self.stochasticRound(values, withinSquaredNorm: accepted, using: &rng) { return rounded }
        }
        throw .roundingDidNotConverge
    }

    /// Each x to ⌊x⌋ + 1 with probability x − ⌊x⌋, else ⌊x⌋; nil when the result's squared norm
    /// exceeds `bound` (computed exactly, in integers).
    static func stochasticRound(
        _ values: [Double],
        withinSquaredNorm bound: Int64,
        using rng: inout some RandomNumberGenerator
    ) -> [Int64]? {
        var out = [Int64]()
        out.reserveCapacity(values.count)
        var squared: Int64 = 0
        for value in values {
            let floor = value.rounded(.down)
            let up = Double(rng.next() >> 11) * 0x1p-53 < value - floor
            let integer = Int64(up ? floor + 1 : floor)
            let (square, overflow) = integer.multipliedReportingOverflow(by: integer)
            guard !overflow else { return nil }
            let (total, overflowTotal) = squared.addingReportingOverflow(square)
            guard !overflowTotal, total <= bound else { return nil }
            squared = total
            out.append(integer)
        }
        return out
    }
}

/// The shard side: from the unmasked integer sum back to a float vector.
public struct SkellamDecoder: Sendable {
    public let parameters: SkellamParameters
    let rotation: SignedHadamard?

    /// Nil when `parameters.problem` is not nil.
    public init?(_ parameters: SkellamParameters) {
        guard parameters.problem == nil else { return nil }
        self.parameters = parameters
        self.rotation = parameters.rotation
    }

    /// The float sum of the `survivors` clipped updates plus their noise (÷γ, rotated back,
    /// padding dropped), not divided by anything: the DP-FedAvg denominator is the caller's.
    ///
    /// Nil for a sum of the wrong length, or one with a coordinate beyond what `survivors`
    /// devices can produce (survivors × the per-device bound): a wrapped or corrupted sum.
    public func decode(sum: [Int64], survivors: Int) -> [Float]? {
        guard sum.count == parameters.encodedDimension, survivors >= 1 else { return nil }
        let reach = Double(survivors) * Double(parameters.largestValue)
        guard sum.allSatisfy({ abs(Double($0)) <= reach }) else { return nil }
        var values = sum.map { Double($0) / parameters.scale }
        rotation?.unrotate(&values)
        return values.prefix(parameters.dimension).map(Float.init)
    }
}
