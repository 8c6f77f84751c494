/// How the server moves the global model given the round's aggregated client change.
///
/// Kept apart from ``AggregationStrategy`` (Flower merges the two into one `FedOpt` class
/// hierarchy) so that any aggregation — plain, DP-clipped, robust — composes with any optimizer.
///
/// The pseudo-gradient is Δ = the (weighted) mean of client deltas `w_local − w_global`
/// (Reddi et al., 2021, "Adaptive Federated Optimization"): a direction to *add*, so plain FedAvg
/// with server learning rate 1 is `w ← w + Δ`, i.e. the mean of the client models.
public protocol ServerOptimizer: Sendable {
    /// The name the CLI and checkpoints use ("fedavg", "fedadam", …).
    var name: String { get }

    /// Applies one round's pseudo-gradient to the global weights.
    ///
    /// State (momentum, second moments) is allocated on the first step; every later step must
    /// have the same parameter count.
    mutating func step(weights: inout [Float], pseudoGradient: [Float])
}

/// FedAvg's server step: `w ← w + η Δ` (η = 1 is McMahan et al.'s FedAvg).
public struct ServerSGD: ServerOptimizer, Codable, Hashable {
    /// Server learning rate η.
    public var learningRate: Float

    public init(learningRate: Float = 1) {
        self.learningRate = learningRate
    }

    public var name: String { "fedavg" }

    public mutating func step(weights: inout [Float], pseudoGradient: [Float]) {
        precondition(weights.count == pseudoGradient.count, "pseudo-gradient does not match the weights")
        for i in weights.indices { weights[i] += learningRate * pseudoGradient[i] }
    }
}

/// FedAvgM: server momentum (Hsu et al., 2019): `m ← β m + Δ`, `w ← w + η m`.
public struct ServerMomentum: ServerOptimizer, Codable, Hashable {
    /// Server learning rate η.
    public var learningRate: Float
    /// Momentum β.
    public var momentum: Float
    /// The momentum buffer; empty until the first step.
    public private(set) var velocity: [Float] = []

    /// Defaults η = 1, β = 0.9 as in Hsu et al. (2019).
    public init(learningRate: Float = 1, momentum: Float = 0.9) {
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public var name: String { "fedavgm" }

    public mutating func step(weights: inout [Float], pseudoGradient: [Float]) {
        precondition(weights.count == pseudoGradient.count, "pseudo-gradient does not match the weights")
        if velocity.isEmpty { velocity = [Float](repeating: 0, count: weights.count) }
        precondition(velocity.count == weights.count, "parameter count changed between rounds")
        for i in weights.indices {
            velocity[i] = momentum * velocity[i] + pseudoGradient[i]
            weights[i] += learningRate * velocity[i]
        }
    }
}
