import Foundation

/// Log-space and normal-distribution helpers shared by the accountants.
///
/// Why a namespace of our own: the accountants must agree with Google's dp_accounting to 1e-6,
/// so these follow SciPy's definitions (`gammaln`, `log_ndtr`, `ndtri`) rather than ad-hoc
/// approximations, and stay accurate far into the tails (Φ(−30) and beyond).
enum SpecialFunctions {
    /// log(eˣ + eʸ) without overflow.
    static func logAdd(_ x: Double, _ y: Double) -> Double {
        let a = min(x, y)
        let b = max(x, y)
        if a == -.infinity { return b }
        return log1p(exp(a - b)) + b
    }

    /// log(eˣ − eʸ) for x > y.
    static func logSub(_ x: Double, _ y: Double) -> Double {
        precondition(x > y, "logSub needs x > y")
        return x + log1p(-exp(y - x))
    }

    /// log(a·eᵇ + c), as dp_accounting's `common.log_a_times_exp_b_plus_c`.
    static func logATimesExpBPlusC(_ a: Double, _ b: Double, _ c: Double) -> Double {
        if a == 0 { return log(c) }
        if a < 0 { return logSub(log(c), log(-a) + b) }
        if b == 0 { return log(a + c) }
        let d = b + log(a)
        if c == 0 { return d }
        if c < 0 { return logSub(d, log(-c)) }
        return logAdd(d, log(c))
    }

    /// log Γ(x) in absolute value, as SciPy's `gammaln`.
    static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// log of the binomial coefficient (n choose k) for real n and k.
    static func logBinomial(_ n: Double, _ k: Double) -> Double {
        logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1)
    }

    /// Φ(x), the standard normal CDF.
    static func normalCDF(_ x: Double) -> Double {
        if x == .infinity { return 1 }
        if x == -.infinity { return 0 }
        return 0.5 * erfc(-x / 2.0.squareRoot())
    }

    /// log Φ(x), accurate in both tails (SciPy's `log_ndtr`).
    static func logNormalCDF(_ x: Double) -> Double {
        if x == .infinity { return 0 }
        if x == -.infinity { return -.infinity }
        if x > 6 { return log1p(-normalCDF(-x)) }
        if x > -20 { return log(normalCDF(x)) }
        // Asymptotic series: log Φ(x) = −x²/2 − log(−x) − log(2π)/2 + log(Σ (−1)ᵏ (2k−1)!! / x²ᵏ).
        let lead = -0.5 * x * x - log(-x) - 0.5 * log(2 * Double.pi)
        let xSquared = x * x
        var term = 1.0
        var sum = 1.0
        var k = 1.0
        while k < 40 {
            term *= -(2 * k - 1) / xSquared
            let next = sum + term
            if next == sum { break }
            sum = next
            k += 1
        }
        return lead + log(sum)
    }

    /// The x with log Φ(x) = logP, by Newton's method on log Φ (SciPy's `ndtri` in log space).
    static func inverseNormalCDF(logProbability logP: Double) -> Double {
        precondition(logP < 0, "inverseNormalCDF needs a probability below 1")
        var x = logP < log(0.5) ? -(-2 * logP).squareRoot() : 0
        for _ in 0..<100 {
            let logPhi = logNormalCDF(x)
            let logDensity = -0.5 * x * x - 0.5 * log(2 * Double.pi)
            let step = (logPhi - logP) / exp(logDensity - logPhi)
            x -= step
            if abs(step) <= 1e-15 * max(1, abs(x)) { break }
        }
        return x
    }
}
