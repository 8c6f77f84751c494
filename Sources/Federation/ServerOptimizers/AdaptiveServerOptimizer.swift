/// FedAdam, FedYogi and FedAdagrad (Reddi et al., 2021, Algorithm 2).
///
/// With Δ the round's pseudo-gradient:
///
///     m ← β₁ m + (1 − β₁) Δ
///     v ← β₂ v + (1 − β₂) Δ²                   (Adam)
///     v ← v − (1 − β₂) Δ² sign(v − Δ²)          (Yogi)
///     v ← v + Δ²                                (Adagrad)
///     w ← w + η m / (√v + τ)
///
/// As in the paper there is no bias correction, and v starts at τ² (the paper's `v₋₁ ≥ τ²`);
/// m starts at 0. Defaults follow the paper's fixed choices β₁ = 0.9, β₂ = 0.99, τ = 10⁻³
/// (τ is the "adaptivity"; smaller is more adaptive). The paper tunes η per task; the default
/// 0.1 is Flower's for FedAdam/FedAdagrad.
///
/// FedAdagrad defaults to β₁ = 0 (no momentum), as Flower's FedAdagrad does: Algorithm 2 writes
/// the same m update for all three rules, but without bias correction a β₁ of 0.9 makes
/// Adagrad's first steps ten times shorter while v only grows, so it barely moves in the tens
/// of rounds a FedPulse run lasts (measured on the synthetic sleep task). Pass β₁ explicitly to
/// get Algorithm 2 literally.
public struct AdaptiveServerOptimizer: ServerOptimizer, Codable, Hashable {
    /// Which second-moment rule.
    public struct Rule: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// Exponential moving average of Δ².
        public static let adam = Rule(rawValue: "fedadam")
        /// Additive, sign-controlled update of v (Zaheer et al., 2018): v changes by at most (1 − β₂)Δ².
        public static let yogi = Rule(rawValue: "fedyogi")
        /// Running sum of Δ².
        public static let adagrad = Rule(rawValue: "fedadagrad")
    }

    /// The second-moment rule.
    public let rule: Rule
    /// Server learning rate η.
    public var learningRate: Float
    /// First-moment decay β₁.
    public var beta1: Float
    /// Second-moment decay β₂ (unused by Adagrad).
    public var beta2: Float
    /// Adaptivity τ.
    public var tau: Float
    /// First moment; empty until the first step.
    public private(set) var firstMoment: [Float] = []
    /// Second moment; empty until the first step.
    public private(set) var secondMoment: [Float] = []

    /// - Parameter beta1: defaults to 0.9, or 0 for ``Rule/adagrad``.
    public init(rule: Rule, learningRate: Float = 0.1, beta1: Float? = nil, beta2: Float = 0.99, tau: Float = 1e-3) {
        self.rule = rule
        self.learningRate = learningRate
        self.beta1 = beta1 ?? (rule == .adagrad ? 0 : 0.9)
        self.beta2 = beta2
        self.tau = tau
    }

    public var name: String { rule.rawValue }

    public mutating func step(weights: inout [Float], pseudoGradient: [Float]) {
        precondition(weights.count == pseudoGradient.count, "pseudo-gradient does not match the weights")
        if firstMoment.isEmpty {
            firstMoment = [Float](repeating: 0, count: weights.count)
            secondMoment = [Float](repeating: tau * tau, count: weights.count)
        }
        precondition(firstMoment.count == weights.count, "parameter count changed between rounds")
        let rule = rule
        for i in weights.indices {
            let delta = pseudoGradient[i]
            let squared = delta * delta
            let m = beta1 * firstMoment[i] + (1 - beta1) * delta
            var v = secondMoment[i]
            switch rule {
            case .yogi:
                let difference = v - squared
                let sign: Float = difference > 0 ? 1 : (difference < 0 ? -1 : 0)
                v -= (1 - beta2) * squared * sign
            case .adagrad:
                v += squared
            default:
                v = beta2 * v + (1 - beta2) * squared
            }
            firstMoment[i] = m
            secondMoment[i] = v
            weights[i] += learningRate * m / (v.squareRoot() + tau)
        }
    }
}
