import Foundation

/// Rényi-DP accountant for the Poisson-subsampled Gaussian mechanism, composed over rounds.
///
/// Why RDP: composition is a per-order sum, so the running total is cheap to extend one round at
/// a time and to replay from the ledger. The maths follow Mironov, Talwar & Zhang 2019 ("Rényi
/// Differential Privacy of the Sampled Gaussian Mechanism"): the closed form for integer orders
/// and the two-sided series for fractional ones. Conversion to (ε, δ) uses the tight bound of
/// Canonne, Kamath & Steinke 2020 / Balle et al. 2020. Orders, formulas and the conversion match
/// Google's dp_accounting `RdpAccountant` (add-or-remove-one adjacency), so results agree to 1e-6.
public struct RDPAccountant: Hashable, Sendable {
    /// dp_accounting's `DEFAULT_RDP_ORDERS`: 1.1…10.9 in steps of 0.1, 11…63, and 128…1024.
    public static let defaultOrders: [Double] = {
        let fine: [Double] = (1..<100).map { 1 + Double($0) / 10 }
        let integers: [Double] = (11..<64).map { Double($0) }
        let large: [Double] = [128, 256, 512, 1024]
        return fine + integers + large
    }()

    /// The Rényi orders α at which the divergence is tracked.
    public let orders: [Double]
    /// The running per-order RDP of everything composed so far.
    public private(set) var rdp: [Double]

    /// Starts an empty account over `orders` (all > 1).
    public init(orders: [Double] = RDPAccountant.defaultOrders) {
        precondition(!orders.isEmpty && orders.allSatisfy { $0 > 1 }, "RDP orders must be > 1")
        self.orders = orders
        self.rdp = Array(repeating: 0, count: orders.count)
    }

    /// Adds `count` rounds of `mechanism` to the running sum (the cheap incremental path).
    public mutating func compose(_ mechanism: SubsampledGaussian, count: Int = 1) {
        precondition(mechanism.isValid && count >= 0, "invalid mechanism or count")
        guard count > 0 else { return }
        add(Self.subsampledGaussianRDP(mechanism, orders: orders), count: count)
    }

    /// Adds `count` times a per-order RDP curve over `orders` (composition is a per-order sum).
    mutating func add(_ perRound: [Double], count: Int) {
        for index in rdp.indices {
            rdp[index] += Double(count) * perRound[index]
        }
    }

    /// A copy with `count` more rounds: what a proposal would bring the total to.
    public func composing(_ mechanism: SubsampledGaussian, count: Int = 1) -> RDPAccountant {
        var copy = self
        copy.compose(mechanism, count: count)
        return copy
    }

    /// The smallest ε over all orders for which the composition is (ε, δ)-DP.
    public func epsilon(delta: Double) -> PrivacyEstimate {
        let (epsilon, order) = Self.epsilon(orders: orders, rdp: rdp, delta: delta)
        return PrivacyEstimate(epsilon: epsilon, delta: delta, optimalOrder: order)
    }

    // MARK: - Mechanism RDP

    /// Per-order RDP of one round (dp_accounting's `_compute_rdp_poisson_subsampled_gaussian`).
    static func subsampledGaussianRDP(_ mechanism: SubsampledGaussian, orders: [Double]) -> [Double] {
        let q = mechanism.samplingRate
        let sigma = mechanism.noiseMultiplier
        return orders.map { alpha in
            if q == 0 { return 0 }
            if alpha.isInfinite || sigma == 0 { return .infinity }
            if q == 1 { return alpha / (2 * sigma * sigma) }
            return logA(q: q, sigma: sigma, alpha: alpha) / (alpha - 1)
        }
    }

    static func logA(q: Double, sigma: Double, alpha: Double) -> Double {
        if alpha.rounded() == alpha {
            return logAInteger(q: q, sigma: sigma, alpha: Int(alpha))
        }
        return logAFractional(q: q, sigma: sigma, alpha: alpha)
    }

    /// log A_α for integer α: a binomial expansion (MTZ 2019, Theorem 9 form).
    static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
        var logA = -Double.infinity
        let log1mq = log1p(-q)
        let logQ = log(q)
        let a = Double(alpha)
        for i in 0...alpha {
            let di = Double(i)
            let logCoefficient = SpecialFunctions.logBinomial(a, di) + di * logQ + (a - di) * log1mq
            let s = logCoefficient + (di * di - di) / (2 * sigma * sigma)
            logA = SpecialFunctions.logAdd(logA, s)
        }
        return logA
    }

    /// log A_α for fractional α: the two integrals split at z₀, summed as series (MTZ 2019, §3.3).
    static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
        var logA0 = -Double.infinity
        var logA1 = -Double.infinity
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        let log1mq = log1p(-q)
        let logQ = log(q)
        var lastS0 = -Double.infinity
        var lastS1 = -Double.infinity
        for step in 0..<1000 {
            let i = Double(step)
            let logCoefficient = SpecialFunctions.logBinomial(alpha, i)
            let j = alpha - i
            let logT0 = logCoefficient + i * logQ + j * log1mq
            let logT1 = logCoefficient + j * logQ + i * log1mq
            let logE0 = log(0.5) + logErfc((i - z0) / (2.0.squareRoot() * sigma))
            let logE1 = log(0.5) + logErfc((z0 - j) / (2.0.squareRoot() * sigma))
            let logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0
            let logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1
            logA0 = SpecialFunctions.logAdd(logA0, logS0)
            logA1 = SpecialFunctions.logAdd(logA1, logS1)
            let total = SpecialFunctions.logAdd(logA0, logA1)
            if logS0 < lastS0 && logS1 < lastS1 && max(logS0, logS1) < total - 30 {
                return total
            }
            lastS0 = logS0
            lastS1 = logS1
        }
        // Did not converge: dp_accounting excludes the order, which an infinite value does.
        return .infinity
    }

    /// log erfc(x) = log 2 + log Φ(−x√2), accurate for large x.
    static func logErfc(_ x: Double) -> Double {
        log(2) + SpecialFunctions.logNormalCDF(-x * 2.0.squareRoot())
    }

    // MARK: - Conversion

    /// RDP → (ε, δ): ε = r + log(1 − 1/α) − log(δ·α)/(α − 1), minimised over α
    /// (Canonne–Kamath–Steinke 2020, Prop. 12; as dp_accounting's `compute_epsilon`).
    static func epsilon(orders: [Double], rdp: [Double], delta: Double) -> (Double, Double) {
        precondition(delta >= 0, "delta must be non-negative")
        if delta == 0 {
            return rdp.allSatisfy { $0 == 0 } ? (0, 0) : (.infinity, 0)
        }
        var bestEpsilon = Double.infinity
        var bestOrder = orders[0]
        for (alpha, r) in zip(orders, rdp) {
            let epsilon: Double
            if r < 0 {
                epsilon = 0
            } else if delta * delta + expm1(-r) > 0 {
                // KL bound: δ ≤ √(1 − e^{−KL}) already holds at ε = 0.
                epsilon = 0
            } else if alpha > 1.01 {
                epsilon = r + log1p(-1 / alpha) - log(delta * alpha) / (alpha - 1)
            } else {
                epsilon = .infinity
            }
            // First minimum wins, as numpy's argmin.
            if epsilon < bestEpsilon {
                bestEpsilon = epsilon
                bestOrder = alpha
            }
        }
        return (max(0, bestEpsilon), bestOrder)
    }
}
