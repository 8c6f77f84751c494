import Foundation
import Testing

@testable import Learning

struct ModelTests {
    @Test(arguments: Fixtures.architectures)
    func gradientMatchesFiniteDifferences(architecture: Architecture, classes: Int) throws {
        let spec = try Fixtures.spec(architecture, classes: classes)
        let data = try Fixtures.linearData(spec: spec, count: 40, seed: 11)
        let model = Model(spec: spec)
        let weights = spec.initialWeights(seed: 5)
        var anchorRNG = SeededGenerator(seed: 9)
        let anchor = weights.map { $0 + Float(anchorRNG.nextGaussian() * 0.1) }
        let penalty = Model.Regularization(l2: 0.01, proximalMu: 0.1, anchor: anchor)
        let analytic = model.gradient(weights: weights, data: data, regularization: penalty).gradient

        // Central differences in Double on the Float model: step large enough to beat Float
        // rounding, small enough that few examples cross a ReLU kink.
        let step: Float = 1e-3
        var numericGradient: [Double] = []
        for index in weights.indices {
            var plus = weights
            var minus = weights
            plus[index] += step
            minus[index] -= step
            let numeric =
                (model.loss(weights: plus, data: data, regularization: penalty)
                    - model.loss(weights: minus, data: data, regularization: penalty)) / Double(2 * step)
            numericGradient.append(numeric)
        }
        // Relative error of the whole vector: a wrong backward pass gives O(0.1–1); Float
        // rounding stays under 0.1 %, and with ReLUs the odd example whose pre-activation
        // crosses zero within ±step adds up to about 1 %.
        let difference = zip(numericGradient, analytic).reduce(0.0) { $0 + pow($1.0 - Double($1.1), 2) }.squareRoot()
        let norm = numericGradient.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
        #expect(norm > 1e-3)
        let tolerance = architecture.hiddenLayers.isEmpty ? 2e-3 : 2e-2
        #expect(difference / norm < tolerance, "relative gradient error \(difference / norm) for \(architecture)")
    }

    @Test(arguments: Fixtures.architectures)
    func trainingLowersTheLossOnALearnableProblem(architecture: Architecture, classes: Int) throws {
        let spec = try Fixtures.spec(architecture, classes: classes)
        let data = try Fixtures.linearData(spec: spec, count: 300, seed: 1)
        let start = spec.initialWeights(seed: 2)
        var rng = SeededGenerator(seed: 3)
        let trained = try LocalTrainer.train(
            spec: spec,
            globalWeights: start,
            data: data,
            config: TrainingConfig(learningRate: 0.1, localEpochs: 20, batchSize: 16),
            rng: &rng
        )
        let model = Model(spec: spec)
        let before = model.loss(weights: start, data: data)
        let after = model.loss(weights: trained, data: data)
        #expect(after < before * 0.6, "loss \(before) → \(after)")
        let accuracy = try #require(try Evaluator.evaluate(spec: spec, weights: trained, data: data).accuracy)
        #expect(accuracy > (classes == 2 ? 0.9 : 0.75))
    }

    @Test func sameSeedGivesSameBitsAndAnotherSeedDoesNot() throws {
        let spec = try Fixtures.spec(.mlp(hiddenLayers: [8]))
        let data = try Fixtures.linearData(spec: spec, count: 100, seed: 4)
        #expect(spec.initialWeights(seed: 1) == spec.initialWeights(seed: 1))
        #expect(spec.initialWeights(seed: 1) != spec.initialWeights(seed: 2))
        func run(_ seed: UInt64) throws -> [Float] {
            var rng = SeededGenerator(seed: seed)
            return try LocalTrainer.train(
                spec: spec,
                globalWeights: spec.initialWeights(seed: 1),
                data: data,
                config: TrainingConfig(),
                rng: &rng
            )
        }
        let first = try run(7)
        let second = try run(7)
        #expect(first.map(\.bitPattern) == second.map(\.bitPattern))
        #expect(try run(8) != first)
    }

    @Test func proximalTermKeepsLocalWeightsCloserToTheGlobalModel() throws {
        let spec = try Fixtures.spec(.logisticRegression)
        let data = try Fixtures.linearData(spec: spec, count: 200, seed: 6)
        let global = spec.initialWeights(seed: 1)
        func drift(mu: Float) throws -> Float {
            var rng = SeededGenerator(seed: 2)
            let config = TrainingConfig(learningRate: 0.1, localEpochs: 10, batchSize: 16, proximalMu: mu)
            let local = try LocalTrainer.train(spec: spec, globalWeights: global, data: data, config: config, rng: &rng)
            return zip(local, global).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        let (anchored, free) = (try drift(mu: 1), try drift(mu: 0))
        #expect(anchored < free * 0.8)
    }

    @Test func trainerRejectsWeightsThatDoNotFitTheSpec() throws {
        let spec = try Fixtures.spec(.logisticRegression)
        let data = try Fixtures.linearData(spec: spec, count: 10, seed: 1)
        var rng = SeededGenerator(seed: 1)
        #expect(throws: LearningError(code: .invalidWeights, detail: "expected 6 parameters, got 3")) {
            try LocalTrainer.train(
                spec: spec,
                globalWeights: [0, 0, 0],
                data: data,
                config: TrainingConfig(),
                rng: &rng
            )
        }
        var poisoned = spec.initialWeights(seed: 1)
        poisoned[2] = .nan
        #expect(throws: LearningError(code: .invalidWeights, detail: "parameter 2 is not finite")) {
            try LocalTrainer.train(spec: spec, globalWeights: poisoned, data: data, config: TrainingConfig(), rng: &rng)
        }
        var config = TrainingConfig()
        config.batchSize = 0
        #expect(throws: LearningError.self) {
            try LocalTrainer.train(
                spec: spec,
                globalWeights: spec.initialWeights(seed: 1),
                data: data,
                config: config,
                rng: &rng
            )
        }
    }

    @Test func centralizedBaselineUsesRoundsTimesEpochs() throws {
        let spec = try Fixtures.spec(.logisticRegression)
        let parts = try (0..<3).map { try Fixtures.linearData(spec: spec, count: 30, seed: UInt64($0)) }
        let start = spec.initialWeights(seed: 1)
        let config = TrainingConfig(localEpochs: 2)
        var baselineRNG = SeededGenerator(seed: 5)
        let baseline = try CentralizedBaseline.train(
            spec: spec,
            initialWeights: start,
            datasets: parts,
            config: config,
            rounds: 3,
            rng: &baselineRNG
        )
        var directRNG = SeededGenerator(seed: 5)
        var direct = config
        direct.localEpochs = 6
        let expected = try LocalTrainer.train(
            spec: spec,
            globalWeights: start,
            data: .concatenating(parts),
            config: direct,
            rng: &directRNG
        )
        #expect(baseline == expected)
    }
}
