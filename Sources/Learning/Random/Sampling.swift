import Foundation

/// Distribution sampling on top of any `RandomNumberGenerator`.
///
/// Written out here rather than borrowed from a package so that the streams are defined by this
/// file alone: a seed recorded today must give the same synthetic users after a dependency bump.
extension RandomNumberGenerator {
    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable
    mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal draw (Box–Muller; one of the pair is discarded to keep no state).
    mutating func nextGaussian() -> Double {
        // 1 − u lies in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - nextUnitDouble()
        let u2 = nextUnitDouble()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// A normal draw with the given mean and standard deviation.
    mutating func nextGaussian(mean: Double, standardDeviation: Double) -> Double {
        mean + standardDeviation * nextGaussian()
    }

    /// A Gamma(shape, 1) draw (Marsaglia and Tsang, 2000; boosted for shape < 1).
    mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0, "Gamma shape must be positive")
        if shape < 1 {
            // Gamma(a) = Gamma(a + 1) · U^(1/a).
            let u = 1.0 - nextUnitDouble()
            return nextGamma(shape: shape + 1) * pow(u, 1.0 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1.0 / (9.0 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextGaussian()
                v = 1.0 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1.0 - nextUnitDouble()
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) {
                return d * v
            }
        }
    }

    /// A Dirichlet draw with the given concentration parameters.
    mutating func nextDirichlet(_ concentration: [Double]) -> [Double] {
        var draws = concentration.map { nextGamma(shape: $0) }
        let total = draws.reduce(0, +)
        guard total > 0 else {
            // Every gamma underflowed (tiny concentrations): put all mass on one category.
            let winner = Int(next() % UInt64(max(draws.count, 1)))
            return draws.indices.map { $0 == winner ? 1 : 0 }
        }
        for index in draws.indices { draws[index] /= total }
        return draws
    }

    /// An index drawn from a discrete distribution (weights need not sum to one).
    mutating func nextCategory(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var target = nextUnitDouble() * total
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 { return index }
        }
        return max(weights.count - 1, 0)
    }
}
