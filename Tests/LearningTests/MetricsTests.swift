import Foundation
import Testing

@testable import Learning

struct EvaluationMetricsTests {
    @Test func mergedMetricsEqualMetricsOnTheUnion() throws {
        let spec = try Fixtures.spec(.softmaxRegression, classes: 3)
        let parts = try (0..<4).map { try Fixtures.linearData(spec: spec, count: 25 + 10 * $0, seed: UInt64($0)) }
        let weights = spec.initialWeights(seed: 3)
        let separate = try parts.map { try Evaluator.evaluate(spec: spec, weights: weights, data: $0) }
        let merged = EvaluationMetrics.merged(separate, classCount: 3)
        let union = try Evaluator.evaluate(spec: spec, weights: weights, data: .concatenating(parts))
        #expect(merged.confusion == union.confusion)
        #expect(merged.count == parts.reduce(0) { $0 + $1.count })
        #expect(abs(try #require(merged.logLoss) - (try #require(union.logLoss))) < 1e-9)
        #expect(merged.macroF1 == union.macroF1)
    }

    /// Finite weights of ±3e38 (what a hostile model candidate carried) overflow the logits to a
    /// NaN probability; evaluating them must give metrics, not a trap in the score histogram.
    @Test func finiteButHugeWeightsEvaluateWithoutTrapping() throws {
        let spec = try Fixtures.spec(.logisticRegression)
        let data = try Fixtures.linearData(spec: spec, count: 40, seed: 9)
        let weights = (0..<spec.parameterCount).map { Float($0 % 2 == 0 ? 3e38 : -3e38) }
        let metrics = try Evaluator.evaluate(spec: spec, weights: weights, data: data)
        #expect(metrics.count == 40)
    }

    @Test func binnedAUCIsWithinItsStatedBoundOfTheExactAUC() throws {
        let spec = try Fixtures.spec(.logisticRegression)
        let data = try Fixtures.linearData(spec: spec, count: 400, seed: 8)
        var rng = SeededGenerator(seed: 1)
        let weights = try LocalTrainer.train(
            spec: spec,
            globalWeights: spec.initialWeights(seed: 1),
            data: data,
            config: TrainingConfig(learningRate: 0.05, localEpochs: 5, batchSize: 32),
            rng: &rng
        )
        let metrics = try Evaluator.evaluate(spec: spec, weights: weights, data: data)
        let scores = Model(spec: spec).probabilities(weights: weights, data: data)
        // Exact AUC by counting pairs.
        var concordant = 0.0
        var pairs = 0.0
        for i in 0..<data.count where data.labels[i] == 1 {
            for j in 0..<data.count where data.labels[j] == 0 {
                let (p, n) = (scores[2 * i + 1], scores[2 * j + 1])
                concordant += p > n ? 1 : (p == n ? 0.5 : 0)
                pairs += 1
            }
        }
        let exact = concordant / pairs
        let binned = try #require(metrics.rocAUC)
        let bound = try #require(metrics.rocAUCMaximumError)
        #expect(abs(binned - exact) <= bound + 1e-12)
        #expect(binned > 0.8)
    }

    @Test func handComputedConfusionGivesAccuracyAndMacroF1() throws {
        var metrics = EvaluationMetrics(classCount: 3)
        // true 0 → predicted 0, 0, 1; true 1 → 1; true 2 → 0.
        let cases: [(Int, [Float])] = [
            (0, [0.8, 0.1, 0.1]), (0, [0.6, 0.3, 0.1]), (0, [0.2, 0.7, 0.1]), (1, [0.1, 0.8, 0.1]),
            (2, [0.5, 0.2, 0.3]),
        ]
        for (label, probabilities) in cases {
            probabilities.withUnsafeBufferPointer {
                metrics.record(label: label, probabilities: $0.baseAddress.unsafelyUnwrapped)
            }
        }
        #expect(metrics.accuracy == 3.0 / 5.0)
        // F1: class 0 = 2·2/(3+3) = 2/3, class 1 = 2·1/(1+2) = 2/3, class 2 = 0.
        let f1 = try #require(metrics.macroF1)
        #expect(abs(f1 - (2.0 / 3 + 2.0 / 3 + 0) / 3) < 1e-12)
        #expect(metrics.rocAUC == nil)
    }

    @Test func decodingRejectsInconsistentMetrics() throws {
        var metrics = EvaluationMetrics(classCount: 2)
        let json = try JSONEncoder().encode(metrics)
        #expect(try JSONDecoder().decode(EvaluationMetrics.self, from: json) == metrics)
        metrics = EvaluationMetrics(classCount: 3)
        var object = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(metrics)) as? [String: Any]
        )
        object["confusion"] = [1, 2, 3]
        let tampered = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(EvaluationMetrics.self, from: tampered) }
    }
}

struct SeededGeneratorTests {
    @Test func streamsAreReproducibleAndIndependent() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        var c = SeededGenerator(seed: 42, stream: 1)
        let first = (0..<4).map { _ in a.next() }
        #expect(first == (0..<4).map { _ in b.next() })
        #expect(first != (0..<4).map { _ in c.next() })
    }

    @Test func dirichletDrawsSumToOneAndConcentrationControlsSpread() {
        var rng = SeededGenerator(seed: 3)
        var sharpMax = 0.0
        var flatMax = 0.0
        for _ in 0..<200 {
            let sharp = rng.nextDirichlet([0.1, 0.1, 0.1])
            let flat = rng.nextDirichlet([100, 100, 100])
            #expect(abs(sharp.reduce(0, +) - 1) < 1e-9)
            sharpMax += sharp.max() ?? 0
            flatMax += flat.max() ?? 0
        }
        #expect(sharpMax / 200 > 0.8)
        #expect(flatMax / 200 < 0.4)
    }

    @Test func gammaHasTheRightMean() {
        var rng = SeededGenerator(seed: 4)
        for shape in [0.3, 1.0, 4.0] {
            let mean = (0..<20_000).reduce(0.0) { total, _ in total + rng.nextGamma(shape: shape) } / 20_000
            #expect(abs(mean - shape) < 0.05 * max(shape, 1))
        }
    }
}
