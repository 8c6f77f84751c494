public import Learning

/// A server optimizer chosen by name, with optional hyperparameter overrides.
///
/// This is what the CLI flag and the coordinator's config carry: `--server-optimizer fedyogi
/// --server-learning-rate 0.03`. Unset values take each optimizer's documented default.
public struct ServerOptimizerConfiguration: Codable, Sendable, Hashable {
    /// One of ``names``.
    public var name: String
    /// Server learning rate η.
    public var learningRate: Float?
    /// FedAvgM momentum β.
    public var momentum: Float?
    /// Adaptive first-moment decay β₁.
    public var beta1: Float?
    /// Adaptive second-moment decay β₂.
    public var beta2: Float?
    /// Adaptivity τ.
    public var tau: Float?

    /// Every accepted name.
    public static let names = ["fedavg", "fedavgm", "fedadam", "fedyogi", "fedadagrad"]

    public init(
        name: String,
        learningRate: Float? = nil,
        momentum: Float? = nil,
        beta1: Float? = nil,
        beta2: Float? = nil,
        tau: Float? = nil
    ) {
        self.name = name
        self.learningRate = learningRate
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.tau = tau
    }

    /// Builds the optimizer with fresh state.
    ///
    /// - Throws: ``LearningError`` with code `.unknownName` for an unknown name, or
    ///   `.invalidConfig` for a non-finite or out-of-range hyperparameter.
    public func makeOptimizer() throws(LearningError) -> any ServerOptimizer {
        for (label, value) in [("learningRate", learningRate), ("tau", tau)] {
            if let value, !(value.isFinite && value > 0) {
                throw LearningError(code: .invalidConfig, detail: "\(label) must be positive and finite, got \(value)")
            }
        }
        for (label, value) in [("momentum", momentum), ("beta1", beta1), ("beta2", beta2)] {
            if let value, !(value >= 0 && value < 1) {
                throw LearningError(code: .invalidConfig, detail: "\(label) must be in [0, 1), got \(value)")
            }
        }
        switch name.lowercased() {
        case "fedavg":
            return ServerSGD(learningRate: learningRate ?? 1)
        case "fedavgm":
            return ServerMomentum(learningRate: learningRate ?? 1, momentum: momentum ?? 0.9)
        case "fedadam", "fedyogi", "fedadagrad":
            let rule = AdaptiveServerOptimizer.Rule(rawValue: name.lowercased())
            return AdaptiveServerOptimizer(
                rule: rule,
                learningRate: learningRate ?? 0.1,
                beta1: beta1,
                beta2: beta2 ?? 0.99,
                tau: tau ?? 1e-3
            )
        default:
            throw LearningError(
                code: .unknownName,
                detail: "unknown server optimizer '\(name)'; expected one of \(Self.names.joined(separator: ", "))"
            )
        }
    }
}

/// The by-name factory the CLI uses.
public enum ServerOptimizers {
    /// A fresh optimizer for `name` ("fedavg", "fedavgm", "fedadam", "fedyogi", "fedadagrad",
    /// case-insensitive), with each optimizer's defaults except the learning rate if given.
    ///
    /// - Throws: ``LearningError`` for an unknown name or an invalid learning rate.
    public static func make(named name: String, learningRate: Float? = nil) throws(LearningError) -> any ServerOptimizer
    {
        try ServerOptimizerConfiguration(name: name, learningRate: learningRate).makeOptimizer()
    }
}
