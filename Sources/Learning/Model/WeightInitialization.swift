import Foundation

extension ModelSpec {
    /// Deterministic starting weights for round 0.
    ///
    /// Every process that knows the spec and the seed derives the same vector, so the
    /// coordinator can record a seed instead of shipping an opaque tensor in its first
    /// checkpoint. Weights are uniform in ±√(6 / fan-in) for ReLU layers (He et al., 2015)
    /// and ±√(6 / (fan-in + fan-out)) for the output layer (Glorot and Bengio, 2010); biases
    /// start at zero.
    public func initialWeights(seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed, stream: 0x1A17)
        var weights = [Float](repeating: 0, count: parameterCount)
        let shapes = layerShapes
        for (index, layer) in shapes.enumerated() {
            let isOutput = index == shapes.count - 1
            let limit =
                isOutput
                ? (6.0 / Double(layer.inputs + layer.outputs)).squareRoot()
                : (6.0 / Double(layer.inputs)).squareRoot()
            for offset in layer.offset..<layer.biasOffset {
                weights[offset] = Float((rng.nextUnitDouble() * 2 - 1) * limit)
            }
        }
        return weights
    }
}
