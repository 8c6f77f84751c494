internal import Foundation

/// The hypergeometric distribution as `fcp/secagg/server/distribution_utilities.cc` computes it
/// (log-gamma PMF, a tail walk for the CDF, the same outward-rounded quantile), ported line by
/// line so that `GraphParameterFinder` lands on the same integers as Google's finder.
struct Hypergeometric {
    let total: Int
    let marked: Int
    let sampled: Int

    init?(total: Int, marked: Int, sampled: Int) {
        guard total >= 0, marked >= 0, sampled >= 0, marked <= total, sampled <= total else { return nil }
        self.total = total
        self.marked = marked
        self.sampled = sampled
    }

    func pmf(_ x: Double, counted: Int) -> Double {
        let n = Double(total)
        let k = Double(sampled)
        let c = Double(counted)
        if x < 0 || x > k || x > c { return 0 }
        if n + x < c + k { return 0 }
        let positive: Double = lgamma(k + 1) + lgamma(c + 1) + lgamma(n - c + 1) + lgamma(n - k + 1)
        let denominatorA: Double = lgamma(x + 1) + lgamma(k - x + 1) + lgamma(c - x + 1)
        let denominatorB: Double = lgamma(n + 1) + lgamma(n - k - c + x + 1)
        return exp(positive - denominatorA - denominatorB)
    }

    func cdf(_ value: Double) -> Double {
        let x = value.rounded(.down)
        let mean = Double(marked) * Double(sampled) / Double(total)
        return x > mean ? 1 - cdfImpl(Double(sampled) - x - 1, counted: total - marked) : cdfImpl(x, counted: marked)
    }

    private func cdfImpl(_ start: Double, counted: Int) -> Double {
        var x = start
        var current = pmf(x, counted: counted)
        var result = 0.0
        let n = Double(total)
        let k = Double(sampled)
        let c = Double(counted)
        while current > result * 1e-16 {
            result += current
            current *= x
            current *= n - c - k + x
            current /= c - x + 1
            current /= k - x + 1
            x -= 1
        }
        return result
    }

    func quantile(_ level: Double, complement startComplement: Bool = false) -> Double {
        var q = level
        var complement = startComplement
        if q > 0.5 {
            q = 1 - q
            complement.toggle()
        }
        if complement { return Double(sampled) - quantileImpl(q, counted: total - marked) - 1 }
        return quantileImpl(q, counted: marked)
    }

    private func quantileImpl(_ q: Double, counted: Int) -> Double {
        let n = Double(total)
        let k = Double(sampled)
        let c = Double(counted)
        let basicBound = c + k - n - 1
        let fancyBound = k * (c / n - (-log(q) / (2 * k)).squareRoot())
        var result = max(-1, basicBound, fancyBound).rounded(.down)
        var currentCDF = cdfImpl(result, counted: counted)
        var currentPMF = pmf(result, counted: counted)
        while currentCDF < q && result < k {
            if currentPMF > 0 {
                currentPMF /= result + 1
                currentPMF /= n - c - k + result + 1
                currentPMF *= c - result
                currentPMF *= k - result
            } else {
                currentPMF = pmf(result + 1, counted: counted)
            }
            currentCDF += currentPMF
            result += 1
        }
        return result - 1
    }
}
