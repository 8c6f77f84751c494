/// Labelled examples, already scaled into model inputs, stored flat for fast training.
///
/// Rows live in one row-major `[Float]` so that training walks memory linearly and allocates
/// nothing per example. A dataset never leaves its worker; only what is trained on it does.
public struct Dataset: Sendable, Hashable {
    /// Width of each input row (``ModelSpec/inputWidth``).
    public let inputWidth: Int
    /// Number of classes labels index into.
    public let classCount: Int
    /// Row-major inputs, `count × inputWidth`.
    public private(set) var inputs: [Float]
    /// One class index per row.
    public private(set) var labels: [Int32]

    /// Number of examples.
    public var count: Int { labels.count }
    /// Whether there are no examples.
    public var isEmpty: Bool { labels.isEmpty }

    /// An empty dataset shaped for `spec`.
    public init(spec: ModelSpec) {
        self.init(inputWidth: spec.inputWidth, classCount: spec.classCount)
    }

    init(inputWidth: Int, classCount: Int) {
        self.inputWidth = inputWidth
        self.classCount = classCount
        self.inputs = []
        self.labels = []
    }

    /// Builds a dataset from raw records in physical units (nil = not measured), scaling them
    /// with the spec's fixed constants.
    ///
    /// - Throws: ``LearningError`` when a row has the wrong length, a required value is missing
    ///   or non-finite, or a label is out of range.
    public init(spec: ModelSpec, rawRows: [[Double?]], labels: [Int]) throws(LearningError) {
        guard rawRows.count == labels.count else {
            throw LearningError(code: .invalidDataset, detail: "\(rawRows.count) rows but \(labels.count) labels")
        }
        self.init(spec: spec)
        let encoder = FeatureEncoder(spec: spec)
        reserveCapacity(rawRows.count)
        for (index, row) in rawRows.enumerated() {
            guard row.count == spec.features.count else {
                throw LearningError(
                    code: .invalidDataset,
                    detail: "row \(index) has \(row.count) values, expected \(spec.features.count)"
                )
            }
            if let problem = encoder.problem(row) {
                throw LearningError(code: .invalidDataset, detail: "row \(index): \(problem)")
            }
            guard (0..<spec.classCount).contains(labels[index]) else {
                throw LearningError(code: .invalidDataset, detail: "row \(index): label \(labels[index]) out of range")
            }
            append(encoded: encoder, raw: row, label: labels[index])
        }
    }

    /// How many examples carry each label, indexed by class.
    public var labelCounts: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }

    /// The examples at `indices`, in that order.
    public func subset<Indices: Sequence<Int>>(_ indices: Indices) -> Dataset {
        var result = Dataset(inputWidth: inputWidth, classCount: classCount)
        for index in indices {
            result.inputs.append(contentsOf: inputs[index * inputWidth..<(index + 1) * inputWidth])
            result.labels.append(labels[index])
        }
        return result
    }

    /// All examples of several datasets in order: the union used by the centralised baseline.
    public static func concatenating(_ parts: [Dataset]) -> Dataset {
        guard let first = parts.first else {
            preconditionFailure("concatenating needs at least one dataset to know the shape")
        }
        var result = Dataset(inputWidth: first.inputWidth, classCount: first.classCount)
        result.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts {
            precondition(part.inputWidth == first.inputWidth && part.classCount == first.classCount, "shape mismatch")
            result.inputs.append(contentsOf: part.inputs)
            result.labels.append(contentsOf: part.labels)
        }
        return result
    }

    /// Row `index`'s inputs.
    public func input(at index: Int) -> ArraySlice<Float> {
        inputs[index * inputWidth..<(index + 1) * inputWidth]
    }

    mutating func reserveCapacity(_ rows: Int) {
        inputs.reserveCapacity(rows * inputWidth)
        labels.reserveCapacity(rows)
    }

    /// Appends one raw record; the caller has checked it with ``FeatureEncoder/problem(_:)``.
    mutating func append(encoded encoder: FeatureEncoder, raw: [Double?], label: Int) {
        let start = inputs.count
        inputs.append(contentsOf: repeatElement(0, count: inputWidth))
        inputs.withUnsafeMutableBufferPointer { buffer in
            encoder.encode(raw, into: UnsafeMutableBufferPointer(rebasing: buffer[start..<(start + inputWidth)]))
        }
        labels.append(Int32(label))
    }

    func checkFits(_ spec: ModelSpec) throws(LearningError) {
        guard inputWidth == spec.inputWidth, classCount == spec.classCount else {
            throw LearningError(
                code: .invalidDataset,
                detail:
                    "dataset is \(inputWidth) inputs × \(classCount) classes, spec needs \(spec.inputWidth) × \(spec.classCount)"
            )
        }
    }
}

/// Turns a raw record (physical units, nil = missing) into a model input row.
struct FeatureEncoder: Sendable {
    let features: [ModelSpec.Feature]
    /// For each feature, the input index of its availability flag, or −1.
    let flagIndex: [Int]

    init(spec: ModelSpec) {
        features = spec.features
        var next = spec.features.count
        var flags: [Int] = []
        for feature in spec.features {
            if feature.mayBeMissing {
                flags.append(next)
                next += 1
            } else {
                flags.append(-1)
            }
        }
        flagIndex = flags
    }

    /// Why `raw` cannot be encoded, or nil.
    func problem(_ raw: [Double?]) -> String? {
        for (index, feature) in features.enumerated() {
            switch raw[index] {
            case .none where !feature.mayBeMissing: return "required feature '\(feature.name)' is missing"
            case .some(let value) where !value.isFinite: return "feature '\(feature.name)' is not finite"
            default: continue
            }
        }
        return nil
    }

    func encode(_ raw: [Double?], into row: UnsafeMutableBufferPointer<Float>) {
        for (index, feature) in features.enumerated() {
            let flag = flagIndex[index]
            if let value = raw[index] {
                row[index] = feature.scaling.scale(value)
                if flag >= 0 { row[flag] = 1 }
            } else {
                row[index] = 0
                if flag >= 0 { row[flag] = 0 }
            }
        }
    }
}
