import Foundation

/// The dense-network kernels shared by every model family.
///
/// Logistic regression is a network with no hidden layer and one sigmoid output; softmax
/// regression has no hidden layer and a softmax output; an MLP adds ReLU layers. One set of
/// pointer loops serves all three, so a gradient bug cannot hide in one family. Nothing here
/// allocates: callers hand in scratch memory sized by ``scratchCount``.
struct Network: Sendable {
    let layers: [LayerShape]
    let classCount: Int
    /// Offsets of each layer's outputs in the activation (and delta) scratch.
    let outputOffsets: [Int]
    /// Floats of scratch needed for activations; the same again is needed for deltas.
    let scratchCount: Int

    init(spec: ModelSpec) {
        layers = spec.layerShapes
        classCount = spec.classCount
        var offsets: [Int] = []
        var total = 0
        for layer in layers {
            offsets.append(total)
            total += layer.outputs
        }
        outputOffsets = offsets
        scratchCount = total
    }

    var usesSigmoid: Bool { layers[layers.count - 1].outputs == 1 }
    var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }

    /// Runs the network on one input row, leaving activations in `scratch`; returns a pointer
    /// to the output logits.
    @inline(__always)
    func forward(
        _ x: UnsafePointer<Float>,
        weights w: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>
    ) -> UnsafeMutablePointer<Float> {
        var input = x
        var output = scratch
        for (index, layer) in layers.enumerated() {
            output = scratch + outputOffsets[index]
            let isHidden = index < layers.count - 1
            let bias = w + layer.biasOffset
            for j in 0..<layer.outputs {
                var z = bias[j] + dot(w + layer.offset + j * layer.inputs, input, layer.inputs)
                if isHidden && z < 0 { z = 0 }
                output[j] = z
            }
            input = UnsafePointer(output)
        }
        return output
    }

    /// Cross-entropy of the logits against `label`; writes ∂loss/∂logit into `delta`.
    @inline(__always)
    func outputLoss(
        logits z: UnsafePointer<Float>,
        label: Int,
        delta: UnsafeMutablePointer<Float>
    ) -> Double {
        if usesSigmoid {
            let logit = z[0]
            let y: Float = label == 1 ? 1 : 0
            delta[0] = sigmoid(logit) - y
            // log(1 + e^z) − y·z, stable for large |z|.
            return Double(max(logit, 0) - y * logit + log1p(exp(-abs(logit))))
        }
        var peak = z[0]
        for k in 1..<classCount { peak = max(peak, z[k]) }
        var total: Float = 0
        for k in 0..<classCount {
            let e = exp(z[k] - peak)
            delta[k] = e
            total += e
        }
        let logTotal = log(total)
        for k in 0..<classCount { delta[k] /= total }
        delta[label] -= 1
        return Double(peak + logTotal - z[label])
    }

    /// Forward and backward pass for one example; adds its gradient to `gradient`, returns its loss.
    @inline(__always)
    func accumulateExample(
        _ x: UnsafePointer<Float>,
        label: Int,
        weights w: UnsafePointer<Float>,
        gradient g: UnsafeMutablePointer<Float>,
        activations: UnsafeMutablePointer<Float>,
        deltas: UnsafeMutablePointer<Float>
    ) -> Double {
        let logits = forward(x, weights: w, scratch: activations)
        let last = layers.count - 1
        let loss = outputLoss(logits: logits, label: label, delta: deltas + outputOffsets[last])
        var index = last
        while index >= 0 {
            let layer = layers[index]
            let delta = UnsafePointer(deltas + outputOffsets[index])
            let input = index == 0 ? x : UnsafePointer(activations + outputOffsets[index - 1])
            let gradWeights = g + layer.offset
            let gradBias = g + layer.biasOffset
            for j in 0..<layer.outputs where delta[j] != 0 {
                gradBias[j] += delta[j]
                axpy(delta[j], input, gradWeights + j * layer.inputs, layer.inputs)
            }
            if index > 0 {
                // Back-propagate through the weights, then through the ReLU (a > 0 ⇔ pre-activation > 0).
                let below = deltas + outputOffsets[index - 1]
                below.update(repeating: 0, count: layer.inputs)
                for j in 0..<layer.outputs where delta[j] != 0 {
                    axpy(delta[j], w + layer.offset + j * layer.inputs, below, layer.inputs)
                }
                for i in 0..<layer.inputs where input[i] <= 0 { below[i] = 0 }
            }
            index -= 1
        }
        return loss
    }

    /// Class probabilities for one input row (binary: `[1 − p, p]`).
    @inline(__always)
    func probabilities(
        _ x: UnsafePointer<Float>,
        weights w: UnsafePointer<Float>,
        scratch: UnsafeMutablePointer<Float>,
        into out: UnsafeMutablePointer<Float>
    ) {
        let logits = forward(x, weights: w, scratch: scratch)
        if usesSigmoid {
            let p = sigmoid(logits[0])
            out[0] = 1 - p
            out[1] = p
            return
        }
        var peak = logits[0]
        for k in 1..<classCount { peak = max(peak, logits[k]) }
        var total: Float = 0
        for k in 0..<classCount {
            out[k] = exp(logits[k] - peak)
            total += out[k]
        }
        for k in 0..<classCount { out[k] /= total }
    }

    /// Whether parameter `index` is a weight (L2-penalised) rather than a bias.
    func isWeight(_ index: Int) -> Bool {
        for layer in layers where index >= layer.offset && index < layer.offset + layer.parameterCount {
            return index < layer.biasOffset
        }
        return false
    }
}

@inline(__always)
func sigmoid(_ z: Float) -> Float {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
}

/// Dot product with four partial sums so the compiler can keep four lanes busy without
/// reassociating floating point on its own.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0: Float = 0
    var s1: Float = 0
    var s2: Float = 0
    var s3: Float = 0
    var i = 0
    while i + 4 <= n {
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
        i += 4
    }
    while i < n {
        s0 += a[i] * b[i]
        i += 1
    }
    return (s0 + s1) + (s2 + s3)
}

/// y += alpha · x.
@inline(__always)
func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { y[i] += alpha * x[i] }
}
