/// "What ε does this Skellam run cost, and how many bits does it need?": the planning
/// arithmetic behind `fedpulse privacy skellam`, the same the auditor charges.
public struct SkellamPlan: Hashable, Sendable {
    public var parameters: SkellamParameters
    /// q, the Poisson sampling rate (1: every device every round).
    public var samplingRate: Double
    /// n, the survivors of the weakest shard in every round (the proposal's minimum).
    public var survivors: Int
    /// T.
    public var rounds: Int
    public var delta: Double

    public init(parameters: SkellamParameters, samplingRate: Double, survivors: Int, rounds: Int, delta: Double) {
        self.parameters = parameters
        self.samplingRate = samplingRate
        self.survivors = survivors
        self.rounds = rounds
        self.delta = delta
    }

    /// The round's release at n survivors.
    public var release: SkellamRelease {
        SkellamRelease(parameters, samplingRate: samplingRate, survivors: survivors)
    }

    /// ε(δ) of T rounds by RDP (fractional orders at ⌈α⌉, Zhu–Wang subsampling).
    public var epsilon: PrivacyEstimate {
        RDPAccountant().composing(release, count: rounds).epsilon(delta: delta)
    }

    /// The smallest k for which a device's value, noise tail included, fits ±(2^(k−1) − 1);
    /// nil when even 62 bits do not.
    public var minimumValueBits: Int? {
        var candidate = parameters
        for bits in 2...62 {
            candidate.valueBits = bits
            if candidate.problem == nil { return bits }
        }
        return nil
    }

    /// The smallest μ per device (to relative `tolerance`) keeping T rounds within
    /// `targetEpsilon`; nil when even μ = 2⁴¹ is not enough. ε is non-increasing in μ, so
    /// bisection never returns a μ on the unsafe side.
    public func calibratedDeviceVariance(targetEpsilon: Double, tolerance: Double = 1e-4) -> Double? {
        guard targetEpsilon > 0, survivors >= 2 else { return nil }
        func epsilon(_ mu: Double) -> Double {
            var plan = self
            plan.parameters.deviceVariance = mu
            return plan.epsilon.epsilon
        }
        let ceiling = 2 * PoissonSampler.maxRate
        var high = 1.0
        while epsilon(high) > targetEpsilon {
            high *= 2
            if high > ceiling { return nil }
        }
        var low = 0.0
        // Invariant: ε(high) ≤ target < ε(low) (ε(0) = ∞).
        while high - low > tolerance * high {
            let middle = (low + high) / 2
            if epsilon(middle) <= targetEpsilon { high = middle } else { low = middle }
        }
        return high
    }
}
