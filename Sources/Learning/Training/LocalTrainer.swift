/// Minibatch SGD on one worker's data, starting from the global model.
///
/// This is the client half of FedAvg / FedProx: E epochs of shuffled minibatches, returning the
/// new local weights (the caller forms Δ = w_local − w_global, clips and sends it). All memory
/// is allocated once per call; the per-example work is pointer loops over flat arrays, so a
/// watch-sized job (a few hundred rows, ~20 inputs) takes well under a millisecond in release.
public enum LocalTrainer {
    /// Trains from `globalWeights` on `data` and returns the local weights.
    ///
    /// Deterministic given the generator's state: the generator only shuffles minibatch order.
    ///
    /// - Throws: ``LearningError`` if the weights do not fit the spec or are not finite, the
    ///   dataset does not fit the spec or is empty, or the config is out of range.
    public static func train(
        spec: ModelSpec,
        globalWeights: [Float],
        data: Dataset,
        config: TrainingConfig,
        rng: inout some RandomNumberGenerator
    ) throws(LearningError) -> [Float] {
        try config.validate()
        try checkWeights(globalWeights, fit: spec)
        try data.checkFits(spec)
        guard !data.isEmpty else { throw LearningError(code: .invalidDataset, detail: "no training examples") }
        let trainer = SGDRun(network: Network(spec: spec), config: config, anchor: globalWeights)
        return trainer.run(data: data, epochs: config.localEpochs, rng: &rng)
    }

    static func checkWeights(_ weights: [Float], fit spec: ModelSpec) throws(LearningError) {
        guard weights.count == spec.parameterCount else {
            throw LearningError(
                code: .invalidWeights,
                detail: "expected \(spec.parameterCount) parameters, got \(weights.count)"
            )
        }
        guard let bad = weights.firstIndex(where: { !$0.isFinite }) else { return }
        throw LearningError(code: .invalidWeights, detail: "parameter \(bad) is not finite")
    }
}

/// One SGD run with its scratch memory.
struct SGDRun {
    let network: Network
    let config: TrainingConfig
    /// FedProx anchor (the global weights the run started from).
    let anchor: [Float]
    /// 1 for weights (L2-penalised), 0 for biases.
    private let decayMask: [Float]

    init(network: Network, config: TrainingConfig, anchor: [Float]) {
        self.network = network
        self.config = config
        self.anchor = anchor
        var mask = [Float](repeating: 0, count: anchor.count)
        for layer in network.layers {
            for index in layer.offset..<layer.biasOffset { mask[index] = 1 }
        }
        decayMask = mask
    }

    /// Runs `epochs` shuffled passes from the anchor and returns the weights.
    ///
    /// Every buffer is pinned once for the whole run, so the per-batch and per-example work is
    /// pointer arithmetic only.
    func run(data: Dataset, epochs: Int, rng: inout some RandomNumberGenerator) -> [Float] {
        var weights = anchor
        // One scratch block: gradient, then activations, then deltas.
        let parameterCount = weights.count
        var scratch = [Float](repeating: 0, count: parameterCount + 2 * network.scratchCount)
        var order = Array(0..<data.count)
        let batchSize = min(config.batchSize, data.count)
        let width = data.inputWidth
        let rate = config.learningRate
        let decay = config.l2
        let mu = config.proximalMu
        weights.withUnsafeMutableBufferPointer { w in
            scratch.withUnsafeMutableBufferPointer { scratch in
                let g = base(scratch)
                let a = g + parameterCount
                let d = a + network.scratchCount
                order.withUnsafeMutableBufferPointer { order in
                    data.inputs.withUnsafeBufferPointer { x in
                        data.labels.withUnsafeBufferPointer { y in
                            anchor.withUnsafeBufferPointer { anchor in
                                decayMask.withUnsafeBufferPointer { mask in
                                    for _ in 0..<epochs {
                                        order.shuffle(using: &rng)
                                        var start = 0
                                        while start < order.count {
                                            let end = min(start + batchSize, order.count)
                                            g.update(repeating: 0, count: parameterCount)
                                            for position in start..<end {
                                                let row = order[position]
                                                _ = network.accumulateExample(
                                                    base(x) + row * width,
                                                    label: Int(y[row]),
                                                    weights: UnsafePointer(base(w)),
                                                    gradient: g,
                                                    activations: a,
                                                    deltas: d
                                                )
                                            }
                                            let inverseBatch = 1 / Float(end - start)
                                            for i in 0..<parameterCount {
                                                var step = g[i] * inverseBatch + decay * mask[i] * w[i]
                                                if mu != 0 { step += mu * (w[i] - anchor[i]) }
                                                w[i] -= rate * step
                                            }
                                            start = end
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return weights
    }
}
