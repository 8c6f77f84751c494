import Foundation

/// The numbers every device, the shard's decoder and the auditor must agree on for one round
/// of the distributed Skellam mechanism (Agarwal, Kairouz & Liu 2021, "The Skellam Mechanism
/// for Differentially Private Federated Learning", NeurIPS).
///
/// A device clips its update to L2 norm C, optionally rotates it (randomized Hadamard, public
/// seed), scales it by γ, rounds it to integers with conditional stochastic rounding, and adds
/// Skellam noise of variance μ per coordinate. The sum over n devices is then the integer sum of
/// the rounded updates plus Sk(n·μ) noise — a sum of independent Skellams is Skellam — which is
/// exactly the mechanism the accountant (`SkellamRDP`) describes, with no float noise rounded
/// into integers on the way.
///
/// Units: μ and every sensitivity are in the integer (scaled) domain.
public struct SkellamParameters: Hashable, Codable, Sendable {
    /// Longest update a round may carry (as `SecAggConfiguration.maxLength`).
    public static let maxDimension = 1 << 26
    /// The probability, per device and round, that one noisy value falls outside `valueBits`
    /// for which parameters are still accepted: such a device refuses to send (it drops out),
    /// an event of probability ≤ 2⁻⁴⁰ whatever its data, so it adds at most 2⁻⁴⁰ to δ.
    public static let valueTailProbability: Double = 0x1p-40
    /// e^−0.5, the β of Kairouz, Liu & Steinke's experiments: each rounding draw is accepted
    /// with probability ≥ 1 − β ≈ 0.39 and the norm bound is close to γC + d/(8γC).
    public static let standardRoundingBeta = 0.6065306597126334

    /// C, the L2 clip norm applied before scaling.
    public var clipNorm: Double
    /// γ: a clipped coordinate x becomes the integer nearest γ·x (stochastically).
    public var scale: Double
    /// μ, the Skellam variance each device adds to each coordinate (integer units).
    public var deviceVariance: Double
    /// d, the length of the float update.
    public var dimension: Int
    /// k: every value a device sends lies in ±(2^(k−1) − 1), noise included.
    public var valueBits: Int
    /// β ∈ [0, 1) of conditional stochastic rounding (0: plain stochastic rounding, bound
    /// γC + √d); Kairouz, Liu & Steinke use e^−0.5.
    public var roundingBeta: Double
    /// The public seed of the Hadamard rotation; nil: no rotation.
    public var rotationSeed: UInt64?

    public init(
        clipNorm: Double,
        scale: Double,
        deviceVariance: Double,
        dimension: Int,
        valueBits: Int,
        roundingBeta: Double = SkellamParameters.standardRoundingBeta,
        rotationSeed: UInt64? = nil
    ) {
        self.clipNorm = clipNorm
        self.scale = scale
        self.deviceVariance = deviceVariance
        self.dimension = dimension
        self.valueBits = valueBits
        self.roundingBeta = roundingBeta
        self.rotationSeed = rotationSeed
    }

    // MARK: - Derived

    /// The length the devices encode: d, or the next power of two when rotating.
    public var encodedDimension: Int {
        rotationSeed == nil ? dimension : (SignedHadamard.paddedCount(dimension) ?? dimension)
    }

    /// The rotation devices and decoder share, nil without a seed.
    var rotation: SignedHadamard? {
        rotationSeed.map { SignedHadamard(count: encodedDimension, seed: $0) }
    }

    /// Δ2, the L2 norm every encoded (rounded, noise-free) vector is guaranteed not to exceed,
    /// hence the L2 sensitivity of the sum under add-or-remove-one.
    ///
    /// Kairouz, Liu & Steinke 2021 ("The Distributed Discrete Gaussian Mechanism for Federated
    /// Learning with Secure Aggregation", ICML), Theorem 1 / Proposition 22: for ‖x‖₂ ≤ c in
    /// d dimensions, stochastic rounding gives ‖r‖₂ ≤ c + √d always, and
    /// ‖r‖₂² ≤ c² + d/4 + √(2 ln(1/β))·(c + √d/2) with probability ≥ 1 − β. The encoder
    /// redraws the rounding until ‖r‖₂² ≤ ⌊Δ2²⌋ with Δ2 = min of the two (c = γC, d the encoded
    /// length), so the bound holds for every vector sent, not just with high probability.
    public var l2Sensitivity: Double {
        let c = scale * clipNorm
        let d = Double(encodedDimension)
        let always = c + d.squareRoot()
        guard roundingBeta > 0 else { return always }
        let conditional = (c * c + d / 4 + (2 * log(1 / roundingBeta)).squareRoot() * (c + d.squareRoot() / 2))
            .squareRoot()
        return min(always, conditional)
    }

    /// Δ1 ≤ min(√d·Δ2, Δ2²): Cauchy–Schwarz, and for integer vectors |v_i| ≤ v_i².
    public var l1Sensitivity: Double {
        let l2 = l2Sensitivity
        return min(Double(encodedDimension).squareRoot() * l2, l2 * l2)
    }

    /// ⌊Δ2²⌋, the largest squared norm the encoder accepts (integers, so ≤ Δ2² exactly).
    var acceptedSquaredNorm: Int64 {
        let bound = (l2Sensitivity * l2Sensitivity).rounded(.down)
        return bound >= 0x1p62 ? Int64(1) << 62 : Int64(bound)
    }

    /// The largest magnitude a device's value may take: 2^(k−1) − 1.
    public var largestValue: Int64 { (Int64(1) << Int64(valueBits - 1)) - 1 }

    /// The magnitude one device's value stays within except with probability
    /// `valueTailProbability` over all coordinates: ⌊Δ2⌋ (no coordinate exceeds the norm)
    /// plus the Skellam tail of μ at 2⁻⁴⁰/d per coordinate (a union bound).
    public var deviceValueBound: Double {
        l2Sensitivity.rounded(.down)
            + SkellamTail.bound(
                variance: deviceVariance,
                probability: Self.valueTailProbability / Double(max(encodedDimension, 1))
            )
    }

    /// k + ⌈log2 n⌉: the modulus bits a SecAgg sum of `cohort` devices needs so it cannot wrap
    /// (each value, noise included, fits k bits; see `SecAggConfiguration`).
    public func requiredModulusBits(cohort: Int) -> Int {
        var ceilLog2 = 0
        while ceilLog2 < 63, (1 << ceilLog2) < cohort { ceilLog2 += 1 }
        return valueBits + ceilLog2
    }

    // MARK: - Validation

    /// Why these parameters cannot run, or nil. Refuses a noise tail that could leave
    /// `valueBits`: the check that the modulus holds the sum must include the noise.
    public var problem: String? {
        guard clipNorm.isFinite, clipNorm > 0 else { return "C = \(clipNorm) is not finite and positive" }
        guard scale.isFinite, scale > 0 else { return "γ = \(scale) is not finite and positive" }
        guard deviceVariance.isFinite, deviceVariance >= 0, deviceVariance <= 2 * PoissonSampler.maxRate else {
            return "μ = \(deviceVariance) is outside [0, 2^41]"
        }
        guard (1...Self.maxDimension).contains(dimension) else {
            return "d = \(dimension) is outside 1…\(Self.maxDimension)"
        }
        guard (2...62).contains(valueBits) else { return "valueBits = \(valueBits) is outside 2…62" }
        guard roundingBeta.isFinite, (0..<1).contains(roundingBeta) else {
            return "β = \(roundingBeta) is outside [0, 1)"
        }
        let bound = deviceValueBound
        guard bound.isFinite, bound <= Double(largestValue) else {
            return "a value with noise can reach \(bound) (Δ2 = \(l2Sensitivity), μ = \(deviceVariance), tail 2^-40)"
                + " > 2^\(valueBits - 1) − 1: raise valueBits or lower γ or μ"
        }
        return nil
    }

    /// Why these parameters cannot run for a SecAgg sum mod 2^`modulusBits` of up to `cohort`
    /// devices, or nil.
    public func problem(cohort: Int, modulusBits: Int) -> String? {
        if let problem { return problem }
        guard cohort >= 1 else { return "cohort \(cohort) < 1" }
        let required = requiredModulusBits(cohort: cohort)
        guard modulusBits >= required else {
            return "the sum of \(cohort) devices needs \(required) modulus bits, \(modulusBits) given"
        }
        return nil
    }
}

/// A rigorous tail bound for the Skellam law Sk(μ) = Poisson(μ/2) − Poisson(μ/2).
///
/// Chernoff: E e^{sX} = exp(μ(cosh s − 1)), so P(X ≥ t) ≤ exp(μ(cosh s − 1) − s·t) for every
/// s > 0; at the optimum s = asinh(t/μ) this is exp(μ(√(1 + (t/μ)²) − 1) − t·asinh(t/μ)).
/// The law is symmetric, so P(|X| ≥ t) is at most twice that.
enum SkellamTail {
    /// log of the one-sided Chernoff bound on P(X ≥ t).
    static func logUpperTail(variance mu: Double, at t: Double) -> Double {
        if t <= 0 { return 0 }
        let ratio = t / mu
        return mu * ((1 + ratio * ratio).squareRoot() - 1) - t * asinh(ratio)
    }

    /// The smallest integer t with P(|X| ≥ t) ≤ `probability` by the bound above (0 for μ = 0).
    static func bound(variance mu: Double, probability: Double) -> Double {
        guard mu > 0 else { return 0 }
        guard mu.isFinite, probability > 0 else { return .infinity }
        let target = log(probability / 2)
        var high = max(1, mu.squareRoot()).rounded(.up)
        while logUpperTail(variance: mu, at: high) > target {
            high *= 2
            if !high.isFinite { return .infinity }
        }
        var low = 0.0
        // Invariant: the bound fails at `low` and holds at `high`.
        while high - low > 1 {
            let middle = ((low + high) / 2).rounded(.down)
            if logUpperTail(variance: mu, at: middle) > target { low = middle } else { high = middle }
        }
        return high
    }
}
