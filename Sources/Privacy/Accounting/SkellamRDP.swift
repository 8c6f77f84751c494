import Foundation

/// One release of the (Poisson-subsampled) distributed Skellam mechanism: what the RDP
/// accountant composes for a `skellam` round.
///
/// Why a value of its own: the noise protecting a device is the Skellam noise of the OTHER
/// devices in its shard's released sum, so the round's cost depends on the securely counted
/// survivors, and the parameters that bound the sensitivity travel with it.
public struct SkellamRelease: Hashable, Codable, Sendable {
    /// Probability q with which each device takes part (1 = everyone).
    public var samplingRate: Double
    /// Δ2, the L2 sensitivity in integer units (`SkellamParameters.l2Sensitivity`).
    public var l2Sensitivity: Double
    /// Δ1, the L1 sensitivity in integer units (`SkellamParameters.l1Sensitivity`).
    public var l1Sensitivity: Double
    /// The Skellam variance per coordinate that protects one device (integer units).
    public var protectingVariance: Double

    public init(samplingRate: Double, l2Sensitivity: Double, l1Sensitivity: Double, protectingVariance: Double) {
        self.samplingRate = samplingRate
        self.l2Sensitivity = l2Sensitivity
        self.l1Sensitivity = l1Sensitivity
        self.protectingVariance = protectingVariance
    }

    /// The release of a shard sum of `survivors` devices each adding μ, protected by the other
    /// survivors − 1 shares: variance (survivors − 1)·μ, as `DPFedAvgNoise` counts the k − 1
    /// other Gaussian shares. The bound is proved for the target's data replaced by zero (its
    /// count is public anyway: participant counts are published); its own share is then extra
    /// noise on both sides (post-processing), so leaving it out keeps a margin, and covers the
    /// share leaving with the target. One survivor: nothing protects it (ε = ∞).
    public init(_ parameters: SkellamParameters, samplingRate: Double, survivors: Int) {
        self.init(
            samplingRate: samplingRate,
            l2Sensitivity: parameters.l2Sensitivity,
            l1Sensitivity: parameters.l1Sensitivity,
            protectingVariance: Double(max(survivors - 1, 0)) * parameters.deviceVariance
        )
    }

    /// Finite, q ∈ [0, 1], sensitivities and variance ≥ 0.
    public var isValid: Bool {
        samplingRate.isFinite && (0...1).contains(samplingRate) && l2Sensitivity.isFinite && l2Sensitivity >= 0
            && l1Sensitivity.isFinite && l1Sensitivity >= 0 && protectingVariance.isFinite && protectingVariance >= 0
    }

    /// The Gaussian noise multiplier with the same leading RDP term: √(variance)/Δ2. What the
    /// ledger shows as the round's effective z, and what the policy's minimum z is checked on.
    public var equivalentNoiseMultiplier: Double {
        l2Sensitivity > 0 ? protectingVariance.squareRoot() / l2Sensitivity : .infinity
    }
}

/// Per-order RDP of a Skellam release.
///
/// The mechanism (Agarwal, Kairouz & Liu 2021, Theorem 3.5 with Corollary 3.6 for vectors):
/// releasing f(D) + Z with Z ~ Sk(μ)^d, μ the VARIANCE per coordinate (each Poisson of mean
/// μ/2), for an integer f whose L1 and L2 sensitivities are Δ1 and Δ2, is (α, ε(α))-RDP for
/// every integer α > 1 with
///
///     ε(α) ≤ α·Δ2²/(2μ) + min( ((2α − 1)·Δ2² + 6·Δ1) / (4μ²),  3·Δ1/(2μ) ).
///
/// (The paper states it for Sk(μ′, μ′), the difference of two Poisson(μ′), whose variance is
/// 2μ′: α·Δ2²/(4μ′) + min(((2α−1)Δ2² + 6Δ1)/(16μ′²), 3Δ1/(4μ′)); substituting μ′ = μ/2 gives
/// the line above. google-research/federated `distributed_dp/accounting_utils.py`
/// `_skellam_rdp` computes the same, in unscaled units.) The leading term is the Gaussian
/// mechanism's with σ² = μ: the min{…} is the price of discreteness, and vanishes as μ grows.
///
/// Orders: the bound is for integers; Rényi divergence is non-decreasing in α, so a
/// fractional order α is charged ε(⌈α⌉) (and orders in (1, 2) ε(2)), a valid upper bound.
///
/// Poisson subsampling at rate q < 1: the general upper bound of Zhu & Wang 2019 ("Poisson
/// Subsampled Rényi Differential Privacy", ICML), valid for any mechanism, for integer α ≥ 2:
///
///     ε′(α) ≤ 1/(α−1) · log( (1−q)^{α−1}(1 + (α−1)q) + C(α,2) q² (1−q)^{α−2} e^{ε(2)}
///                             + 3 Σ_{l=3..α} C(α,l) q^l (1−q)^{α−l} e^{(l−1)ε(l)} ),
///
/// and the smaller of that and the unsampled ε(α) is used (both are valid).
public enum SkellamRDP {
    /// ε(α) of the unsampled mechanism at an integer order α ≥ 2.
    public static func unsampled(order alpha: Int, _ release: SkellamRelease) -> Double {
        let mu = release.protectingVariance
        let l2Squared = release.l2Sensitivity * release.l2Sensitivity
        let l1 = release.l1Sensitivity
        if l2Squared == 0 && l1 == 0 { return 0 }
        guard mu > 0 else { return .infinity }
        let a = Double(alpha)
        let gaussian = a * l2Squared / (2 * mu)
        let discrete = min(((2 * a - 1) * l2Squared + 6 * l1) / (4 * mu * mu), 3 * l1 / (2 * mu))
        return gaussian + discrete
    }

    /// The per-order RDP of one release at `orders` (each > 1).
    public static func rdp(_ release: SkellamRelease, orders: [Double]) -> [Double] {
        let integerOrders = orders.map { max(2, Int($0.rounded(.up))) }
        let q = release.samplingRate
        if q == 0 { return orders.map { _ in 0 } }
        let highest = integerOrders.max() ?? 2
        // ε(l) for l = 0…highest (indices 0 and 1 unused).
        let base = (0...highest).map { $0 < 2 ? 0 : unsampled(order: $0, release) }
        return integerOrders.map { alpha in
            let plain = base[alpha]
            return q == 1 ? plain : min(plain, subsampled(order: alpha, samplingRate: q, base: base))
        }
    }

    /// Zhu & Wang's general upper bound at integer α ≥ 2, in log space.
    static func subsampled(order alpha: Int, samplingRate q: Double, base: [Double]) -> Double {
        let a = Double(alpha)
        let logQ = log(q)
        let log1mq = log1p(-q)
        // (1−q)^{α−1}(1 + (α−1)q)
        var total = (a - 1) * log1mq + log1p((a - 1) * q)
        // C(α,2) q² (1−q)^{α−2} e^{ε(2)}
        total = SpecialFunctions.logAdd(
            total,
            SpecialFunctions.logBinomial(a, 2) + 2 * logQ + (a - 2) * log1mq + base[2]
        )
        if alpha >= 3 {
            for l in 3...alpha {
                let dl = Double(l)
                let term =
                    log(3) + SpecialFunctions.logBinomial(a, dl) + dl * logQ + (a - dl) * log1mq + (dl - 1) * base[l]
                total = SpecialFunctions.logAdd(total, term)
            }
        }
        return total / (a - 1)
    }
}

extension RDPAccountant {
    /// Adds `count` Skellam releases to the running sum (orders as the Gaussian rounds', so
    /// both kinds compose in one account and convert to (ε, δ) the same way).
    public mutating func compose(_ release: SkellamRelease, count: Int = 1) {
        precondition(release.isValid && count >= 0, "invalid release or count")
        guard count > 0 else { return }
        add(SkellamRDP.rdp(release, orders: orders), count: count)
    }

    /// A copy with `count` more Skellam releases.
    public func composing(_ release: SkellamRelease, count: Int = 1) -> RDPAccountant {
        var copy = self
        copy.compose(release, count: count)
        return copy
    }
}
