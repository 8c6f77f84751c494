/// The yardstick for federated training: the same model trained on the union of all data.
///
/// A federated run is judged by how close it gets to this. To be a fair comparison it gets the
/// same budget of passes over the data: `rounds × localEpochs` epochs of the same minibatch SGD
/// (no proximal term, since there is no global model to stay near).
public enum CentralizedBaseline {
    /// Trains on the concatenation of `datasets` from `initialWeights`.
    public static func train(
        spec: ModelSpec,
        initialWeights: [Float],
        datasets: [Dataset],
        config: TrainingConfig,
        rounds: Int,
        rng: inout some RandomNumberGenerator
    ) throws(LearningError) -> [Float] {
        guard !datasets.isEmpty else { throw LearningError(code: .invalidDataset, detail: "no datasets") }
        guard rounds >= 1 else { throw LearningError(code: .invalidConfig, detail: "rounds must be at least 1") }
        for dataset in datasets { try dataset.checkFits(spec) }
        var central = config
        central.localEpochs = config.localEpochs * rounds
        central.proximalMu = 0
        return try LocalTrainer.train(
            spec: spec,
            globalWeights: initialWeights,
            data: .concatenating(datasets),
            config: central,
            rng: &rng
        )
    }
}
