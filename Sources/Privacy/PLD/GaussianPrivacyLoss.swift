import Foundation

/// Privacy loss of the Poisson-subsampled Gaussian mechanism under one direction of add/remove.
///
/// Why two directions: with subsampling the loss is asymmetric, so dp_accounting tracks
/// "remove" (upper = (1−q)·N(0,σ²) + q·N(−1,σ²) against N(0,σ²)) and "add" (N(0,σ²) against
/// (1−q)·N(0,σ²) + q·N(1,σ²)) separately and reports the larger ε. Sensitivity is 1 (the clip
/// norm), σ the noise multiplier. The loss is non-increasing in x, which makes δ(ε) a difference
/// of two CDFs at one cut-off point.
struct GaussianPrivacyLoss {
    enum Adjacency: Hashable, Sendable {
        case add
        case remove
    }

    let sigma: Double
    let samplingRate: Double
    let adjacency: Adjacency
    /// ln of the noise mass that may be ignored in the tails; dp_accounting's default.
    let logMassTruncationBound: Double = -50

    // MARK: Loss and its inverse

    private func lossWithoutSubsamplingRemove(_ x: Double) -> Double {
        (-0.5 - x) / (sigma * sigma)
    }

    private func inverseWithoutSubsamplingRemove(_ loss: Double) -> Double {
        -0.5 - loss * sigma * sigma
    }

    private func lossRemove(_ x: Double) -> Double {
        let loss = lossWithoutSubsamplingRemove(x)
        if samplingRate == 1 { return loss }
        return SpecialFunctions.logATimesExpBPlusC(samplingRate, loss, 1 - samplingRate)
    }

    /// ln(μ_upper(x) / μ_lower(x)).
    func privacyLoss(_ x: Double) -> Double {
        switch adjacency {
        case .remove: lossRemove(x)
        case .add: -lossRemove(-x)
        }
    }

    private static func isClose(_ a: Double, _ b: Double) -> Bool {
        abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    }

    /// The largest x whose privacy loss is at least `loss`; nil where no x qualifies.
    func inversePrivacyLoss(_ loss: Double) -> Double? {
        let q = samplingRate
        switch adjacency {
        case .remove:
            if q == 1 { return inverseWithoutSubsamplingRemove(loss) }
            if Self.isClose(loss, log(1 - q)) { return inverseWithoutSubsamplingRemove(-.infinity) }
            if loss <= log(1 - q) { return nil }
            let unsampled = SpecialFunctions.logATimesExpBPlusC(1 / q, loss, 1 - 1 / q)
            return inverseWithoutSubsamplingRemove(unsampled)
        case .add:
            if q == 1 { return 1 + inverseWithoutSubsamplingRemove(loss) }
            if Self.isClose(loss, -log(1 - q)) { return 1 + inverseWithoutSubsamplingRemove(.infinity) }
            if loss > -log(1 - q) { return nil }
            let unsampled = -SpecialFunctions.logATimesExpBPlusC(1 / q, -loss, 1 - 1 / q)
            return 1 + inverseWithoutSubsamplingRemove(unsampled)
        }
    }

    // MARK: Distributions

    private func noiseCDF(_ x: Double) -> Double { SpecialFunctions.normalCDF(x / sigma) }
    private func noiseLogCDF(_ x: Double) -> Double { SpecialFunctions.logNormalCDF(x / sigma) }

    private func upperCDF(_ x: Double) -> Double {
        switch adjacency {
        case .add:
            return noiseCDF(x)
        case .remove:
            if samplingRate == 1 { return noiseCDF(x + 1) }
            return (1 - samplingRate) * noiseCDF(x) + samplingRate * noiseCDF(x + 1)
        }
    }

    private func lowerLogCDF(_ x: Double) -> Double {
        switch adjacency {
        case .add:
            if samplingRate == 1 { return noiseLogCDF(x - 1) }
            let a = log1p(-samplingRate) + noiseLogCDF(x)
            let b = log(samplingRate) + noiseLogCDF(x - 1)
            if a == -.infinity && b == -.infinity { return -.infinity }
            return SpecialFunctions.logAdd(a, b)
        case .remove:
            return noiseLogCDF(x)
        }
    }

    /// The exact hockey-stick divergence δ(ε) of the continuous mechanism.
    func delta(epsilon: Double) -> Double {
        let q = samplingRate
        var useInverse = true
        var delta = 0.0
        if q != 1 {
            switch adjacency {
            case .add:
                useInverse = epsilon < -log1p(-q)
            case .remove:
                useInverse = epsilon > log1p(-q)
                if !useInverse { delta = -expm1(epsilon) }
            }
        }
        if useInverse, let cutoff = inversePrivacyLoss(epsilon) {
            delta = upperCDF(cutoff) - exp(epsilon + lowerLogCDF(cutoff))
        }
        return min(max(delta, 0), 1)
    }

    // MARK: Discretisation

    /// The range of ε the connect-the-dots grid must cover: the losses at the noise's truncated tails.
    func connectDotsBounds() -> (lower: Double, upper: Double) {
        var lowerX = sigma * SpecialFunctions.inverseNormalCDF(logProbability: log(0.5) + logMassTruncationBound)
        var upperX = -lowerX
        switch adjacency {
        case .add: upperX += 1
        case .remove: lowerX -= 1
        }
        return (privacyLoss(upperX), privacyLoss(lowerX))
    }

    /// How many grid points ``connectTheDotsPMF(discretization:)`` would allocate (∞ when the
    /// bounds are not finite), so that a caller can refuse a grid before paying for it.
    func gridPointCount(discretization: Double) -> Double {
        let bounds = connectDotsBounds()
        let count = (bounds.upper / discretization).rounded(.up) - (bounds.lower / discretization).rounded(.down) + 1
        return count.isFinite ? count : .infinity
    }

    /// The pessimistic connect-the-dots PMF on the grid kΔ (Doroshenko et al. 2022, Algorithm 1;
    /// dp_accounting's `create_pmf_pessimistic_connect_dots_fixed_gap`).
    func connectTheDotsPMF(discretization: Double) -> PrivacyLossPMF {
        let bounds = connectDotsBounds()
        let upperIndex = Int((bounds.upper / discretization).rounded(.up))
        let lowerIndex = Int((bounds.lower / discretization).rounded(.down))
        var deltas = (lowerIndex...upperIndex).map { delta(epsilon: Double($0) * discretization) }
        if lowerIndex == upperIndex {
            return PrivacyLossPMF(
                discretization: discretization,
                lowerIndex: lowerIndex,
                probabilities: [1 - deltas[0]],
                infinityMass: deltas[0]
            )
        }
        // Hockey-stick curves are non-increasing; smooth away round-off (np.minimum.accumulate).
        for index in 1..<deltas.count { deltas[index] = min(deltas[index], deltas[index - 1]) }
        let diffs = (1..<deltas.count).map { deltas[$0] - deltas[$0 - 1] }
        let expm1Step = expm1(discretization)
        var probabilities = [Double](repeating: 0, count: deltas.count)
        probabilities[0] = 1 - deltas[0] + diffs[0] / expm1Step
        for index in 1..<(deltas.count - 1) {
            probabilities[index] = (diffs[index] - diffs[index - 1] * exp(discretization)) / expm1Step
        }
        probabilities[deltas.count - 1] = diffs[diffs.count - 1] / expm1(-discretization)
        return PrivacyLossPMF(
            discretization: discretization,
            lowerIndex: lowerIndex,
            probabilities: probabilities.map { max(0, $0) },
            infinityMass: deltas[deltas.count - 1]
        )
    }
}
