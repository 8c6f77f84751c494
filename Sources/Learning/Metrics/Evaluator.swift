/// Evaluates a parameter vector on labelled data.
///
/// Used for federated evaluation (each worker on its local hold-out, results merged) and for
/// central evaluation on a hold-out set in simulation.
public enum Evaluator {
    /// Metrics of `weights` on `data`.
    ///
    /// - Throws: ``LearningError`` when the weights or the dataset do not fit the spec, or the
    ///   weights hold non-finite values.
    public static func evaluate(
        spec: ModelSpec,
        weights: [Float],
        data: Dataset
    ) throws(LearningError) -> EvaluationMetrics {
        try LocalTrainer.checkWeights(weights, fit: spec)
        try data.checkFits(spec)
        let network = Network(spec: spec)
        var metrics = EvaluationMetrics(classCount: spec.classCount)
        var scratch = [Float](repeating: 0, count: network.scratchCount)
        var probabilities = [Float](repeating: 0, count: spec.classCount)
        weights.withUnsafeBufferPointer { w in
            data.inputs.withUnsafeBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { s in
                    probabilities.withUnsafeMutableBufferPointer { p in
                        for row in 0..<data.count {
                            network.probabilities(
                                base(x) + row * data.inputWidth,
                                weights: base(w),
                                scratch: base(s),
                                into: base(p)
                            )
                            metrics.record(label: Int(data.labels[row]), probabilities: UnsafePointer(base(p)))
                        }
                    }
                }
            }
        }
        return metrics
    }
}
