import Foundation

/// Integer Poisson and Skellam draws from any `RandomNumberGenerator`.
///
/// Why our own sampler: the Skellam mechanism's guarantee is about the exact integer law
/// Sk(μ) = Poisson(μ/2) − Poisson(μ/2); a normal approximation, or a Poisson sampler that
/// loses accuracy for large λ (summing exponentials, or inversion from e^−λ, which underflows
/// past λ ≈ 745), is a different mechanism that the accountant does not describe.
///
/// Exactness. Below λ = 10: inversion by sequential search from P(0) = e^−λ (≥ 4.5·10⁻⁵, no
/// underflow), one 53-bit uniform per draw. From λ = 10: PTRS, the transformed rejection
/// method of Hörmann 1993 ("The transformed rejection method for generating Poisson random
/// variables", Insurance: Mathematics and Economics 12), the algorithm numpy uses. Both are
/// exact algorithms — no approximation of the law — whose only departures from it are the
/// 2⁻⁵³ resolution of the uniforms and the double-precision evaluation of log Γ and of the
/// acceptance test (relative error ~10⁻¹⁵ per draw); PTRS's acceptance test compares logs, so
/// its accuracy does not degrade as λ grows. λ is capped at `maxRate` (2⁴⁰) so every draw
/// fits an `Int64` with room for sums.
///
/// Production passes `SystemRandomNumberGenerator` (the OS CSPRNG): noise from a predictable
/// generator can be subtracted out and protects nothing. Tests pass a seeded generator.
public enum PoissonSampler {
    /// The largest rate accepted: draws stay far below 2⁶³ even summed over 2²⁰ devices.
    public static let maxRate: Double = 0x1p40

    /// One Poisson(λ) draw; nil for λ negative, not finite or above `maxRate`.
    public static func poisson(rate lambda: Double, using generator: inout some RandomNumberGenerator) -> Int64? {
        guard lambda.isFinite, lambda >= 0, lambda <= maxRate else { return nil }
        if lambda == 0 { return 0 }
        return lambda < 10 ? inversion(lambda, &generator) : transformedRejection(lambda, &generator)
    }

    /// One Skellam draw of variance μ: Poisson(μ/2) − Poisson(μ/2); nil for an invalid μ.
    public static func skellam(variance mu: Double, using generator: inout some RandomNumberGenerator) -> Int64? {
        guard mu.isFinite, mu >= 0, mu / 2 <= maxRate,
            let first = poisson(rate: mu / 2, using: &generator),
            let second = poisson(rate: mu / 2, using: &generator)
        else { return nil }
        return first - second
    }

    /// A uniform in (0, 1] from 53 random bits (never 0, so its log is finite).
    static func openUniform(_ generator: inout some RandomNumberGenerator) -> Double {
        Double(generator.next() >> 11 + 1) * 0x1p-53
    }

    /// Sequential search: the smallest k with F(k) ≥ u. λ < 10, so the loop ends within a few
    /// dozen steps; the cap only guards against a u within rounding of 1.
    private static func inversion(_ lambda: Double, _ generator: inout some RandomNumberGenerator) -> Int64 {
        let u = openUniform(&generator)
        var k: Int64 = 0
        var probability = exp(-lambda)
        var cumulative = probability
        while cumulative < u && k < 1_000 {
            k += 1
            probability *= lambda / Double(k)
            cumulative += probability
        }
        return k
    }

    /// PTRS (Hörmann 1993, Algorithm PTRS), λ ≥ 10. The hat's constants are the paper's.
    private static func transformedRejection(_ lambda: Double, _ generator: inout some RandomNumberGenerator) -> Int64 {
        let root = lambda.squareRoot()
        let logLambda = log(lambda)
        let b = 0.931 + 2.53 * root
        let a = -0.059 + 0.02483 * b
        let inverseAlpha = 1.1239 + 1.1328 / (b - 3.4)
        let acceptBox = 0.9277 - 3.6224 / (b - 2)
        // The paper's bound on k past which the hat's tail is negligible is not used: every
        // candidate is tested exactly, so the loop returns a draw of the exact law.
        while true {
            let u = openUniform(&generator) - 0.5
            let v = openUniform(&generator)
            let us = 0.5 - abs(u)
            guard us > 0 else { continue }
            let candidate = ((2 * a / us + b) * u + lambda + 0.43).rounded(.down)
            // k ∈ [0, 4·maxRate]: no Int64 overflow below; a larger k has probability < 2⁻¹⁰⁰⁰.
            guard candidate >= 0, candidate <= 4 * maxRate else { continue }
            if us >= 0.07 && v <= acceptBox { return Int64(candidate) }
            if us < 0.013 && v > us { continue }
            let logHat = log(v) + log(inverseAlpha) - log(a / (us * us) + b)
            let logTarget = -lambda + candidate * logLambda - SpecialFunctions.logGamma(candidate + 1)
            if logHat <= logTarget { return Int64(candidate) }
        }
    }
}
