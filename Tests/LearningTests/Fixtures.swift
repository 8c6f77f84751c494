@testable import Learning

/// Small deterministic datasets and specs shared by the tests.
enum Fixtures {
    static let features = (0..<4).map {
        ModelSpec.Feature(name: "x\($0)", scaling: .standardize(mean: 0, standardDeviation: 1), mayBeMissing: $0 == 3)
    }

    static func spec(_ architecture: Architecture, classes: Int = 2) throws -> ModelSpec {
        try ModelSpec(architecture: architecture, features: features, labels: (0..<classes).map { "c\($0)" })
    }

    /// Random inputs with labels from a fixed linear rule plus noise: learnable, not separable.
    static func linearData(spec: ModelSpec, count: Int, seed: UInt64) throws -> Dataset {
        var rng = SeededGenerator(seed: seed)
        var rows: [[Double?]] = []
        var labels: [Int] = []
        for _ in 0..<count {
            let x = (0..<4).map { _ in rng.nextGaussian() }
            let row: [Double?] = [x[0], x[1], x[2], rng.nextUnitDouble() < 0.2 ? nil : x[3]]
            let score = 1.5 * x[0] - x[1] + 0.5 * x[2] + 0.3 * rng.nextGaussian()
            let label: Int
            if spec.classCount == 2 {
                label = score > 0 ? 1 : 0
            } else {
                label = min(max(Int((score + 2.5) / 5 * Double(spec.classCount)), 0), spec.classCount - 1)
            }
            rows.append(row)
            labels.append(label)
        }
        return try Dataset(spec: spec, rawRows: rows, labels: labels)
    }

    static let architectures: [(Architecture, Int)] = [
        (.logisticRegression, 2),
        (.softmaxRegression, 3),
        (.mlp(hiddenLayers: [5]), 2),
        (.mlp(hiddenLayers: [6, 4]), 3),
    ]
}
