/// Unscaled records as a device holds them: one row of optional feature values per example.
///
/// Scaling is part of the model spec, and the spec can change during a run (after a federated
/// statistics round), so a device keeps its raw records and builds a ``Dataset`` per spec.
public struct RawRecords: Sendable, Hashable {
    /// Rows in the spec's feature order; `nil` is a missing value.
    public private(set) var rows: [[Double?]] = []
    public private(set) var labels: [Int] = []

    public init() {}

    public var count: Int { labels.count }

    public mutating func append(_ row: [Double?], label: Int) {
        rows.append(row)
        labels.append(label)
    }

    /// The scaled dataset of these records under `spec`.
    public func dataset(spec: ModelSpec) throws(LearningError) -> Dataset {
        try Dataset(spec: spec, rawRows: rows, labels: labels)
    }

    /// The first `count` records and the rest: the most recent records are the local hold-out.
    public func split(keepingFirst count: Int) -> (head: RawRecords, tail: RawRecords) {
        var head = RawRecords()
        var tail = RawRecords()
        for index in rows.indices {
            if index < count {
                head.append(rows[index], label: labels[index])
            } else {
                tail.append(rows[index], label: labels[index])
            }
        }
        return (head, tail)
    }
}

/// Per-feature sums of x, x² and counts: all a device reveals for federated standardisation.
///
/// Sums compose by addition through the hierarchy (shards and the global aggregator add them
/// like model deltas), so the coordinator learns each feature's mean and variance without any
/// record leaving a device.
public struct FeatureMoments: Sendable, Hashable {
    public var sums: [Double]
    public var sumSquares: [Double]
    public var counts: [Double]

    public init(featureCount: Int) {
        sums = [Double](repeating: 0, count: featureCount)
        sumSquares = sums
        counts = sums
    }

    public init(sums: [Double], sumSquares: [Double], counts: [Double]) {
        self.sums = sums
        self.sumSquares = sumSquares
        self.counts = counts
    }

    /// The moments of `records` measured in the units of `reference` (z = (x − center) / spread,
    /// unclamped; missing values skipped per feature).
    ///
    /// Measuring relative to the current scaling keeps the values near 1, so the sums survive
    /// `f32le` on the wire without the cancellation that raw step counts squared would suffer.
    public init(records: RawRecords, relativeTo reference: [FeatureScaling]) {
        self.init(featureCount: reference.count)
        for row in records.rows {
            for (index, value) in row.enumerated() where index < reference.count {
                guard let value, value.isFinite else { continue }
                let z = (value - reference[index].center) / reference[index].spread
                sums[index] += z
                sumSquares[index] += z * z
                counts[index] += 1
            }
        }
    }

    /// Standardisation constants per feature, converting back from `reference` units; a feature
    /// nobody observed (or with no spread) keeps its reference scaling, so the spec stays usable.
    public func standardization(relativeTo reference: [FeatureScaling]) -> [FeatureScaling] {
        sums.indices.map { index in
            let count = counts[index]
            guard count >= 2 else { return reference[index] }
            let mean = sums[index] / count
            let variance = max(0, sumSquares[index] / count - mean * mean)
            let deviation = variance.squareRoot()
            guard deviation > 1e-9, mean.isFinite else { return reference[index] }
            return .standardize(
                mean: reference[index].center + reference[index].spread * mean,
                standardDeviation: reference[index].spread * deviation
            )
        }
    }
}

extension ModelSpec {
    /// The same model with new scaling constants (one per feature), e.g. from federated statistics.
    public func replacingScaling(_ scalings: [FeatureScaling]) throws(LearningError) -> ModelSpec {
        guard scalings.count == features.count else {
            throw LearningError(
                code: .invalidSpec,
                detail: "expected \(features.count) scalings, got \(scalings.count)"
            )
        }
        let updated = zip(features, scalings).map { Feature(name: $0.name, scaling: $1, mayBeMissing: $0.mayBeMissing) }
        return try ModelSpec(architecture: architecture, features: updated, labels: labels, labelColumn: labelColumn)
    }

    /// Whether two specs describe the same model up to feature scaling (same parameters' meaning).
    public func hasSameShape(as other: ModelSpec) -> Bool {
        architecture == other.architecture && featureNames == other.featureNames && labels == other.labels
            && labelColumn == other.labelColumn && features.map(\.mayBeMissing) == other.features.map(\.mayBeMissing)
    }
}
