import Foundation

/// A discretised privacy-loss distribution: probabilities on the grid kΔ, plus mass at +∞.
///
/// Why this shape: it is dp_accounting's `DensePLDPmf`, so composition (convolution), the
/// Chernoff-bounded self-composition and the ε(δ) search can be ported line for line and agree
/// with the reference. Every approximation is pessimistic: truncated left tails move up to the
/// first kept loss, truncated right tails move to +∞.
struct PrivacyLossPMF: Hashable, Sendable {
    /// Δ, the grid step of privacy-loss values.
    var discretization: Double
    /// Index k of `probabilities[0]`; its loss is k·Δ.
    var lowerIndex: Int
    /// Probability of each loss on the grid, ascending.
    var probabilities: [Double]
    /// Probability of an infinite privacy loss (a δ that no ε can cover).
    var infinityMass: Double

    /// The PMF of "nothing happened": all mass at loss 0.
    static func identity(discretization: Double) -> PrivacyLossPMF {
        PrivacyLossPMF(discretization: discretization, lowerIndex: 0, probabilities: [1], infinityMass: 0)
    }

    /// The composition with `other` (a convolution), truncating ≤ `tailMassTruncation` of tails.
    func composed(with other: PrivacyLossPMF, tailMassTruncation: Double = 1e-15) -> PrivacyLossPMF {
        precondition(discretization == other.discretization, "PLDs must share a discretization")
        let convolution = FFT.convolve(probabilities, other.probabilities)
        let infinity = infinityMass + other.infinityMass - infinityMass * other.infinityMass
        let (offset, kept, rightMass) = Self.truncateTails(convolution, tailMassTruncation: tailMassTruncation)
        return PrivacyLossPMF(
            discretization: discretization,
            lowerIndex: lowerIndex + other.lowerIndex + offset,
            probabilities: kept,
            infinityMass: infinity + rightMass
        )
    }

    /// The `times`-fold composition with itself, by one FFT raised to a power.
    func selfComposed(times: Int, tailMassTruncation: Double = 1e-15) -> PrivacyLossPMF {
        precondition(times >= 1, "self-composition needs at least one round")
        let (lower, upper) = Self.selfConvolveBounds(
            probabilities,
            times: times,
            tailMassTruncation: tailMassTruncation
        )
        let outputCount = upper - lower + 1
        let length = FFT.length(atLeast: max(outputCount, probabilities.count))
        let cyclic = FFT.cyclicSelfConvolution(probabilities, times: times, length: length)
        var output = [Double](repeating: 0, count: outputCount)
        for index in 0..<outputCount {
            output[index] = cyclic[(index + lower) % length]
        }
        let infinity = tailMassTruncation - expm1(Double(times) * log1p(-infinityMass))
        return PrivacyLossPMF(
            discretization: discretization,
            lowerIndex: lowerIndex * times + lower,
            probabilities: output,
            infinityMass: infinity
        )
    }

    /// δ(ε) = P[∞] + Σ_{ℓ > ε} p_ℓ (1 − e^{ε − ℓ}), the hockey-stick divergence.
    func delta(epsilon: Double) -> Double {
        var delta = infinityMass
        for (offset, probability) in probabilities.enumerated() {
            let loss = Double(lowerIndex + offset) * discretization
            if loss > epsilon { delta += -expm1(epsilon - loss) * probability }
        }
        return delta
    }

    /// The smallest ε ≥ 0 with δ(ε) ≤ `delta`, scanning losses from the top (dp_accounting's
    /// `_get_epsilon_for_delta`); `.infinity` when the infinite-loss mass alone exceeds δ.
    func epsilon(delta: Double) -> Double {
        if infinityMass > delta { return .infinity }
        var massUpper = infinityMass
        var massLower = 0.0
        let upperIndex = lowerIndex + probabilities.count - 1
        for offset in stride(from: probabilities.count - 1, through: 0, by: -1) {
            let loss = Double(upperIndex) * discretization - Double(probabilities.count - 1 - offset) * discretization
            let probability = probabilities[offset]
            if massUpper > delta && massLower > 0 && log((massUpper - delta) / massLower) >= loss {
                break
            }
            massUpper += probability
            massLower += exp(-loss) * probability
            if massUpper >= delta && massLower == 0 {
                return max(0, loss)
            }
        }
        if massUpper <= massLower + delta { return 0 }
        return log((massUpper - delta) / massLower)
    }

    // MARK: - Helpers ported from dp_accounting

    /// Drops a prefix and a suffix each holding ≤ half of `tailMassTruncation`; the prefix mass
    /// joins the first kept entry, the suffix mass is returned to go to +∞ (pessimistic).
    static func truncateTails(_ probabilities: [Double], tailMassTruncation: Double) -> (Int, [Double], Double) {
        guard tailMassTruncation > 0, !probabilities.isEmpty else { return (0, probabilities, 0) }
        func prefixToTruncate<C: Collection<Double>>(_ values: C, threshold: Double) -> Int {
            var sum = 0.0
            for (index, value) in values.enumerated() {
                sum += value
                if sum > threshold { return index }
            }
            return values.count
        }
        let leftIndex = prefixToTruncate(probabilities, threshold: tailMassTruncation / 2)
        let suffix = prefixToTruncate(probabilities.reversed(), threshold: tailMassTruncation / 2)
        let rightIndex = min(max(probabilities.count - suffix, leftIndex + 1), probabilities.count)
        let leftMass = probabilities[..<leftIndex].reduce(0, +)
        let rightMass = probabilities[rightIndex...].reduce(0, +)
        var kept = Array(probabilities[leftIndex..<rightIndex])
        if !kept.isEmpty { kept[0] += leftMass }
        return (leftIndex, kept, rightMass)
    }

    /// Chernoff bounds on the support of the `times`-fold self-convolution outside which at most
    /// `tailMassTruncation` lies (dp_accounting's `compute_self_convolve_bounds`).
    static func selfConvolveBounds(_ probabilities: [Double], times: Int, tailMassTruncation: Double) -> (Int, Int) {
        var upper = (probabilities.count - 1) * times
        var lower = 0
        guard tailMassTruncation > 0 else { return (lower, upper) }
        let n = Double(probabilities.count)
        let orders = (-20..<0).map { Double($0) / n } + (1...20).map { Double($0) / n }
        for order in orders {
            // |order·i| ≤ 20 on the whole support, so the MGF sum cannot overflow: no log-sum-exp needed.
            let mgf = probabilities.withUnsafeBufferPointer { p -> Double in
                var sum = 0.0
                var index = 0
                while index < p.count {
                    if p[index] > 0 { sum += p[index] * exp(order * Double(index)) }
                    index += 1
                }
                return sum
            }
            let bound = (Double(times) * log(mgf) + log(2 / tailMassTruncation)) / order
            guard bound.isFinite else { continue }
            if order > 0 { upper = min(upper, Int(bound.rounded(.up))) }
            if order < 0 { lower = max(lower, Int(bound.rounded(.down))) }
        }
        return (lower, upper)
    }
}
