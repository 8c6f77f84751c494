/// Everything needed to interpret a flat parameter vector: architecture, inputs, labels.
///
/// A FedPulse model is a `[Float]` plus this spec. The spec is what the coordinator broadcasts
/// beside the tensor and what a worker checks before training, so it is `Codable` and its
/// decoder rejects inconsistent specs (wrong parameter count, bad scaling) instead of letting a
/// bad broadcast crash a worker.
///
/// **Input layout.** The model's input vector is every feature's scaled value in `features`
/// order, followed by one 0/1 availability flag for each feature with `mayBeMissing == true`,
/// in the same order. A missing value is imputed as 0 in scaled space (the centre of the fixed
/// range) and its flag is 0, so the model can learn a separate offset for "this device does not
/// measure HRV" instead of mistaking it for an average HRV.
///
/// **Parameter layout.** Layer by layer from the input: the weight matrix row-major
/// `[outputs × inputs]`, then the bias vector `[outputs]`. A two-class model has one sigmoid
/// output whose positive class is `labels[1]`; every other model has one output per class.
public struct ModelSpec: Codable, Sendable, Hashable {
    /// One raw input column and how it is scaled.
    public struct Feature: Codable, Sendable, Hashable {
        /// Column name in a CSV export and in the synthetic generator.
        public var name: String
        /// Fixed scaling constants.
        public var scaling: FeatureScaling
        /// Whether a record may lack this value; if so the model gets an availability flag input.
        public var mayBeMissing: Bool

        public init(name: String, scaling: FeatureScaling, mayBeMissing: Bool) {
            self.name = name
            self.scaling = scaling
            self.mayBeMissing = mayBeMissing
        }
    }

    /// The network shape.
    public let architecture: Architecture
    /// Raw input columns, in input order.
    public let features: [Feature]
    /// Class names; a label is an index into this array. Binary tasks list the negative class first.
    public let labels: [String]
    /// The CSV column holding each record's class: exports name it as they like (`outcome`,
    /// `diagnosis`), and every device must read the same column.
    public let labelColumn: String
    /// Length of the parameter vector; derived, stored so a reader can bound a tensor before decoding it.
    public let parameterCount: Int

    /// Builds a spec, checking that the architecture fits the labels.
    public init(
        architecture: Architecture,
        features: [Feature],
        labels: [String],
        labelColumn: String = Self.defaultLabelColumn
    ) throws(LearningError) {
        if let problem = Self.problem(
            architecture: architecture,
            features: features,
            labels: labels,
            labelColumn: labelColumn
        ) {
            throw LearningError(code: .invalidSpec, detail: problem)
        }
        self.architecture = architecture
        self.features = features
        self.labels = labels
        self.labelColumn = labelColumn
        self.parameterCount = Self.layerShapes(architecture: architecture, features: features, labels: labels)
            .reduce(0) { $0 + $1.parameterCount }
    }

    /// Raw column names, in input order.
    public var featureNames: [String] { features.map(\.name) }

    /// Names of every model input: the features, then `<name>_available` flags.
    public var inputNames: [String] {
        featureNames + features.filter(\.mayBeMissing).map { "\($0.name)_available" }
    }

    /// Width of the model's input vector (features plus availability flags).
    public var inputWidth: Int { features.count + features.lazy.filter(\.mayBeMissing).count }

    /// Number of classes.
    public var classCount: Int { labels.count }

    var layerShapes: [LayerShape] {
        Self.layerShapes(architecture: architecture, features: features, labels: labels)
    }

    private static func layerShapes(architecture: Architecture, features: [Feature], labels: [String]) -> [LayerShape] {
        let inputWidth = features.count + features.lazy.filter(\.mayBeMissing).count
        let widths = [inputWidth] + architecture.hiddenLayers + [architecture.outputWidth(classCount: labels.count)]
        var shapes: [LayerShape] = []
        var offset = 0
        for index in 0..<(widths.count - 1) {
            let shape = LayerShape(inputs: widths[index], outputs: widths[index + 1], offset: offset)
            shapes.append(shape)
            offset += shape.parameterCount
        }
        return shapes
    }

    /// The label column of the wearable exports and of a spec that does not name one.
    public static let defaultLabelColumn = "label"

    private static func problem(
        architecture: Architecture,
        features: [Feature],
        labels: [String],
        labelColumn: String
    ) -> String? {
        if let problem = architecture.problem(classCount: labels.count) { return problem }
        if features.isEmpty { return "a model needs at least one feature" }
        if features.count > 10_000 { return "too many features (\(features.count))" }
        if Set(features.map(\.name)).count != features.count { return "feature names must be unique" }
        if Set(labels).count != labels.count { return "label names must be unique" }
        if labelColumn.isEmpty || labelColumn.count > 256 {
            return "the label column needs a name of 1...256 characters"
        }
        if features.contains(where: { $0.name == labelColumn }) {
            return "'\(labelColumn)' is the label column and cannot also be a feature"
        }
        return nil
    }

    private enum CodingKeys: String, CodingKey {
        case architecture, features, labels, labelColumn, parameterCount
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let architecture = try container.decode(Architecture.self, forKey: .architecture)
        let features = try container.decode([Feature].self, forKey: .features)
        let labels = try container.decode([String].self, forKey: .labels)
        let labelColumn = try container.decodeIfPresent(String.self, forKey: .labelColumn) ?? Self.defaultLabelColumn
        let declared = try container.decode(Int.self, forKey: .parameterCount)
        do {
            try self.init(architecture: architecture, features: features, labels: labels, labelColumn: labelColumn)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .architecture,
                in: container,
                debugDescription: error.detail
            )
        }
        guard declared == parameterCount else {
            throw DecodingError.dataCorruptedError(
                forKey: .parameterCount,
                in: container,
                debugDescription: "declared \(declared) parameters, the architecture has \(parameterCount)"
            )
        }
    }
}

/// One dense layer's place in the flat parameter vector.
struct LayerShape: Hashable, Sendable {
    let inputs: Int
    let outputs: Int
    /// Index of the first weight; the biases follow the `outputs × inputs` weights.
    let offset: Int

    var weightCount: Int { inputs * outputs }
    var biasOffset: Int { offset + weightCount }
    var parameterCount: Int { weightCount + outputs }
}
