/// Hyperparameters of local training, broadcast with each round.
///
/// The coordinator sends one config per round so that every worker trains the same way; the
/// worker validates it (``validate()``) because it arrives from the network. The defaults
/// (η = 0.1, E = 5, B = 16, λ = 10⁻⁴) are the ones the federated-vs-centralised acceptance
/// test uses on the synthetic sleep-quality task.
public struct TrainingConfig: Codable, Sendable, Hashable {
    /// Step size of minibatch SGD.
    public var learningRate: Float
    /// Passes over the local data per round (E in FedAvg).
    public var localEpochs: Int
    /// Examples per SGD step (B in FedAvg); the last batch of an epoch may be smaller.
    public var batchSize: Int
    /// Weight decay λ of λ/2‖W‖² over weight matrices (not biases).
    public var l2: Float
    /// FedProx μ of μ/2‖w − w_global‖²; 0 is plain FedAvg local training.
    public var proximalMu: Float

    public init(
        learningRate: Float = 0.1,
        localEpochs: Int = 5,
        batchSize: Int = 16,
        l2: Float = 1e-4,
        proximalMu: Float = 0
    ) {
        self.learningRate = learningRate
        self.localEpochs = localEpochs
        self.batchSize = batchSize
        self.l2 = l2
        self.proximalMu = proximalMu
    }

    /// Checks every value is in a range that cannot hang or poison a worker.
    public func validate() throws(LearningError) {
        func fail(_ detail: String) -> LearningError { LearningError(code: .invalidConfig, detail: detail) }
        guard learningRate.isFinite, learningRate > 0, learningRate <= 100 else {
            throw fail("learningRate \(learningRate) is outside (0, 100]")
        }
        guard (1...10_000).contains(localEpochs) else { throw fail("localEpochs \(localEpochs) is outside 1...10000") }
        guard (1...1_000_000).contains(batchSize) else { throw fail("batchSize \(batchSize) is outside 1...1000000") }
        guard l2.isFinite, l2 >= 0 else { throw fail("l2 \(l2) must be finite and non-negative") }
        guard proximalMu.isFinite, proximalMu >= 0 else {
            throw fail("proximalMu \(proximalMu) must be finite and non-negative")
        }
    }
}
