/// A model family bound to its spec: predictions, loss and gradient for a flat parameter vector.
///
/// The parameter vector is passed in, never stored, because in federated training the same
/// network evaluates many vectors (the global model, each local model) and the vectors are what
/// travel. Methods trap on a vector of the wrong length: that is a programmer error here, since
/// the entry points that take outside data (``LocalTrainer``, ``Evaluator``) check it first.
public struct Model: Sendable {
    /// The spec the network was built from.
    public let spec: ModelSpec
    let network: Network

    /// Builds the network described by `spec`.
    public init(spec: ModelSpec) {
        self.spec = spec
        self.network = Network(spec: spec)
    }

    /// Penalties added to the mean cross-entropy.
    ///
    /// `l2` applies to weights only (not biases), as weight decay usually does; `proximalMu` is
    /// FedProx's μ/2‖w − anchor‖² over every parameter, anchoring a client to the global model
    /// it started from so heterogeneous clients drift less.
    public struct Regularization: Sendable, Hashable {
        /// Coefficient λ of λ/2‖W‖² over the weight matrices.
        public var l2: Float
        /// Coefficient μ of μ/2‖w − anchor‖²; 0 turns FedProx off.
        public var proximalMu: Float
        /// The global weights the proximal term pulls towards; ignored when `proximalMu` is 0.
        public var anchor: [Float]

        public init(l2: Float = 0, proximalMu: Float = 0, anchor: [Float] = []) {
            self.l2 = l2
            self.proximalMu = proximalMu
            self.anchor = anchor
        }

        /// No penalty: plain cross-entropy.
        public static let none = Regularization()
    }

    /// Class probabilities for each row of `data`, row-major `count × classCount`.
    public func probabilities(weights: [Float], data: Dataset) -> [Float] {
        checkShapes(weights: weights, data: data)
        let classes = spec.classCount
        var result = [Float](repeating: 0, count: data.count * classes)
        var scratch = [Float](repeating: 0, count: network.scratchCount)
        weights.withUnsafeBufferPointer { w in
            data.inputs.withUnsafeBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { s in
                    result.withUnsafeMutableBufferPointer { out in
                        for row in 0..<data.count {
                            network.probabilities(
                                base(x) + row * data.inputWidth,
                                weights: base(w),
                                scratch: base(s),
                                into: base(out) + row * classes
                            )
                        }
                    }
                }
            }
        }
        return result
    }

    /// The most probable class of each row.
    public func predictions(weights: [Float], data: Dataset) -> [Int] {
        let probabilities = probabilities(weights: weights, data: data)
        let classes = spec.classCount
        return (0..<data.count).map { row in
            let slice = probabilities[row * classes..<(row + 1) * classes]
            return (slice.indices.max { slice[$0] < slice[$1] } ?? row * classes) - row * classes
        }
    }

    /// Mean cross-entropy over `data` plus the penalties.
    public func loss(weights: [Float], data: Dataset, regularization: Regularization = .none) -> Double {
        gradient(weights: weights, data: data, regularization: regularization).loss
    }

    /// The full-batch objective and its gradient with respect to every parameter.
    public func gradient(
        weights: [Float],
        data: Dataset,
        regularization: Regularization = .none
    ) -> (loss: Double, gradient: [Float]) {
        checkShapes(weights: weights, data: data)
        precondition(!data.isEmpty, "the loss of an empty dataset is undefined")
        var gradient = [Float](repeating: 0, count: weights.count)
        var activations = [Float](repeating: 0, count: network.scratchCount)
        var deltas = [Float](repeating: 0, count: network.scratchCount)
        var lossSum = 0.0
        weights.withUnsafeBufferPointer { w in
            data.inputs.withUnsafeBufferPointer { x in
                gradient.withUnsafeMutableBufferPointer { g in
                    activations.withUnsafeMutableBufferPointer { a in
                        deltas.withUnsafeMutableBufferPointer { d in
                            for row in 0..<data.count {
                                lossSum += network.accumulateExample(
                                    base(x) + row * data.inputWidth,
                                    label: Int(data.labels[row]),
                                    weights: base(w),
                                    gradient: base(g),
                                    activations: base(a),
                                    deltas: base(d)
                                )
                            }
                        }
                    }
                }
            }
        }
        let scale = 1 / Float(data.count)
        var loss = lossSum / Double(data.count)
        for index in gradient.indices {
            gradient[index] *= scale
            let value = weights[index]
            if regularization.l2 != 0 && network.isWeight(index) {
                gradient[index] += regularization.l2 * value
                loss += Double(regularization.l2 / 2 * value * value)
            }
            if regularization.proximalMu != 0 {
                let drift = value - regularization.anchor[index]
                gradient[index] += regularization.proximalMu * drift
                loss += Double(regularization.proximalMu / 2 * drift * drift)
            }
        }
        return (loss, gradient)
    }

    private func checkShapes(weights: [Float], data: Dataset) {
        precondition(
            weights.count == spec.parameterCount,
            "expected \(spec.parameterCount) parameters, got \(weights.count)"
        )
        precondition(
            data.inputWidth == spec.inputWidth && data.classCount == spec.classCount,
            "dataset does not fit spec"
        )
    }
}

/// The base address of a buffer taken from a non-empty array or an empty one.
///
/// `withUnsafeBufferPointer` gives a nil base address for an empty array; loops over zero rows
/// never dereference it, so a dangling-but-unused pointer is fine and spares an optional.
@inline(__always)
func base(_ buffer: UnsafeBufferPointer<Float>) -> UnsafePointer<Float> {
    buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment).unsafelyUnwrapped
}

@inline(__always)
func base(_ buffer: UnsafeMutableBufferPointer<Float>) -> UnsafeMutablePointer<Float> {
    buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Float>.alignment).unsafelyUnwrapped
}
