import Learning
import Testing

@testable import Federation

/// The acceptance criterion of the learning core (issue 3): in-process federated training on
/// synthetic, non-IID sleep-quality data gets within 2 accuracy points of the centralised
/// baseline in 20 rounds.
struct FederatedTrainingTests {
    struct Outcome {
        var federated: Double
        var centralized: Double
        var majorityShare: Double
    }

    /// Plain loops over simulated clients, no sockets: every user trains every round, updates are
    /// averaged by example count (FedAvg), and the server applies `optimizer`.
    static func run(seed: UInt64, optimizer name: String, rounds: Int = 20) throws -> Outcome {
        let spec = try ModelSpec.wearable(task: .sleepQuality)
        let generator = SyntheticWearables(
            task: .sleepQuality,
            seed: seed,
            options: .init(meanRecordsPerUser: 60, quantitySkew: 0.5, labelSkewAlpha: 0.5)
        )
        let devices = SyntheticWearables.DeviceMix.even.assign(users: 30)
        let users = try devices.enumerated().map {
            try generator.userData(userIndex: $0.offset, deviceClass: $0.element, spec: spec).train
        }
        let holdOut = try generator.centralHoldOut(users: 60, recordsPerUser: 50, spec: spec)
        let config = TrainingConfig()
        let initial = spec.initialWeights(seed: seed)

        var global = initial
        var optimizer = try ServerOptimizerConfiguration(name: name).makeOptimizer()
        let strategy = FedAvg()
        for round in 0..<rounds {
            var accumulator = strategy.makeAccumulator(parameterCount: spec.parameterCount)
            for (index, data) in users.enumerated() {
                var rng = SeededGenerator(seed: seed, stream: UInt64(round), UInt64(index))
                let local = try LocalTrainer.train(
                    spec: spec,
                    globalWeights: global,
                    data: data,
                    config: config,
                    rng: &rng
                )
                strategy.accumulate(zip(local, global).map { $0 - $1 }, weight: Double(data.count), into: &accumulator)
            }
            optimizer.step(weights: &global, pseudoGradient: strategy.finish(accumulator).mean)
        }

        var rng = SeededGenerator(seed: seed, stream: 0xCE)
        let central = try CentralizedBaseline.train(
            spec: spec,
            initialWeights: initial,
            datasets: users,
            config: config,
            rounds: rounds,
            rng: &rng
        )
        let counts = holdOut.labelCounts
        return Outcome(
            federated: try #require(try Evaluator.evaluate(spec: spec, weights: global, data: holdOut).accuracy),
            centralized: try #require(try Evaluator.evaluate(spec: spec, weights: central, data: holdOut).accuracy),
            majorityShare: Double(counts.max() ?? 0) / Double(holdOut.count)
        )
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func fedAvgReachesTheCentralizedBaselineWithinTwoPoints(seed: UInt64) throws {
        let outcome = try Self.run(seed: seed, optimizer: "fedavg")
        // Both must have learned something real, or "close to the baseline" means nothing.
        #expect(outcome.centralized > outcome.majorityShare + 0.04)
        #expect(
            outcome.federated >= outcome.centralized - 0.02,
            "federated \(outcome.federated) vs centralised \(outcome.centralized)"
        )
    }

    @Test(arguments: ["fedavgm", "fedadam", "fedyogi", "fedadagrad"])
    func everyServerOptimizerLearnsTheTask(name: String) throws {
        let outcome = try Self.run(seed: 1, optimizer: name)
        #expect(outcome.federated > outcome.majorityShare + 0.02, "\(name): \(outcome.federated)")
    }
}
