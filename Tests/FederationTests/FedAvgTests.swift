import Learning
import Testing
import Wire

@testable import Federation

struct FedAvgTests {
    @Test func weightedAndUniformAveragingDiffer() {
        for (weighting, expected) in [(FedAvg.Weighting.byReportedWeight, Float(2)), (.uniform, 3)] {
            let strategy = FedAvg(weighting: weighting)
            var accumulator = strategy.makeAccumulator(parameterCount: 2)
            strategy.accumulate([1, 1], weight: 3, into: &accumulator)
            strategy.accumulate([5, 5], weight: 1, into: &accumulator)
            let outcome = strategy.finish(accumulator)
            #expect(outcome.mean == [expected, expected])
            #expect(outcome.count == 2)
            #expect(outcome.weightSum == (weighting == .byReportedWeight ? 4 : 2))
        }
    }

    @Test func hierarchicalSumOfShardPartialsEqualsFlatAggregation() {
        let strategy = FedAvg()
        let parameterCount = 1_003  // not a multiple of the SIMD width, so the tail runs too
        var rng = SeededGenerator(seed: 1)
        // Small integers and integer weights: every partial sum is exact in Float, so the two
        // orders of summation must agree bit for bit.
        let updates = (0..<12).map { _ in (0..<parameterCount).map { _ in Float(Int(rng.next() % 41) - 20) } }
        let weights = (0..<12).map { Double($0 % 4 + 1) }

        var flat = strategy.makeAccumulator(parameterCount: parameterCount)
        for (update, weight) in zip(updates, weights) { strategy.accumulate(update, weight: weight, into: &flat) }

        var global = strategy.makeAccumulator(parameterCount: parameterCount)
        for shard in 0..<3 {
            var partial = strategy.makeAccumulator(parameterCount: parameterCount)
            for index in stride(from: shard, to: 12, by: 3) {
                strategy.accumulate(updates[index], weight: weights[index], into: &partial)
            }
            let forwarded = strategy.finish(partial).partial
            strategy.combine(
                PartialAggregate(sum: forwarded.sum, weightSum: forwarded.weightSum, count: forwarded.count),
                into: &global
            )
        }
        let flatOutcome = strategy.finish(flat)
        let hierarchical = strategy.finish(global)
        #expect(hierarchical.sum == flatOutcome.sum)
        #expect(hierarchical.weightSum == flatOutcome.weightSum)
        #expect(hierarchical.count == 12)
        #expect(hierarchical.mean == flatOutcome.mean)
    }

    @Test func littleEndianFramesAccumulateLikeArraysEvenWhenMisaligned() {
        let strategy = FedAvg()
        let update: [Float] = (0..<37).map { Float($0) * 0.25 - 3 }
        var bytes: [UInt8] = [0xAA]  // one leading byte so the floats start misaligned
        for value in update { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        var fromArray = strategy.makeAccumulator(parameterCount: update.count)
        strategy.accumulate(update, weight: 2, into: &fromArray)
        var fromBytes = strategy.makeAccumulator(parameterCount: update.count)
        bytes.withUnsafeBytes { raw in
            strategy.accumulate(
                littleEndianBytes: UnsafeRawBufferPointer(rebasing: raw[1...]),
                weight: 2,
                into: &fromBytes
            )
        }
        #expect(fromBytes == fromArray)
    }

    @Test func fixedDenominatorAndEmptyAggregation() {
        let strategy = FedAvg(weighting: .uniform)
        var accumulator = strategy.makeAccumulator(parameterCount: 2)
        #expect(strategy.finish(accumulator).mean.isEmpty)
        strategy.accumulate([2, 4], weight: 100, into: &accumulator)
        #expect(strategy.finish(accumulator).mean(dividingBy: 4) == [0.5, 1])
    }

    @Test func fedAvgOfIdenticalClientsEqualsTheirCommonModel() throws {
        let spec = try ModelSpec.wearable(task: .sleepQuality)
        let data = try SyntheticWearables(task: .sleepQuality, seed: 1).userData(
            userIndex: 0,
            deviceClass: .watch,
            spec: spec
        ).train
        let global = spec.initialWeights(seed: 1)
        let config = TrainingConfig()
        let strategy = FedAvg()
        var accumulator = strategy.makeAccumulator(parameterCount: spec.parameterCount)
        var expected: [Float] = []
        for _ in 0..<5 {
            var rng = SeededGenerator(seed: 3)
            expected = try LocalTrainer.train(spec: spec, globalWeights: global, data: data, config: config, rng: &rng)
            strategy.accumulate(zip(expected, global).map { $0 - $1 }, weight: Double(data.count), into: &accumulator)
        }
        var weights = global
        var optimizer = ServerSGD()
        optimizer.step(weights: &weights, pseudoGradient: strategy.finish(accumulator).mean)
        let gap = zip(weights, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(gap < 1e-5)
    }

    /// One full-batch local step per client, averaged by example count, is one full-batch
    /// gradient step on the union of the clients' data (the gradient is linear in the examples).
    @Test func fedAvgOfOneFullBatchStepEqualsOneCentralizedStep() throws {
        let spec = try ModelSpec.wearable(task: .activity, architecture: .mlp(hiddenLayers: [8]))
        let generator = SyntheticWearables(task: .activity, seed: 4, options: .init(labelSkewAlpha: 0.5))
        let clients = try DeviceClass.allCases.enumerated().map {
            try generator.userData(userIndex: $0.offset, deviceClass: $0.element, spec: spec).train
        }
        let global = spec.initialWeights(seed: 2)
        let strategy = FedAvg()
        var accumulator = strategy.makeAccumulator(parameterCount: spec.parameterCount)
        for data in clients {
            var rng = SeededGenerator(seed: 0)
            let config = TrainingConfig(learningRate: 0.5, localEpochs: 1, batchSize: data.count, l2: 1e-3)
            let local = try LocalTrainer.train(spec: spec, globalWeights: global, data: data, config: config, rng: &rng)
            strategy.accumulate(zip(local, global).map { $0 - $1 }, weight: Double(data.count), into: &accumulator)
        }
        var federated = global
        var optimizer = ServerSGD()
        optimizer.step(weights: &federated, pseudoGradient: strategy.finish(accumulator).mean)

        let union = Dataset.concatenating(clients)
        var rng = SeededGenerator(seed: 0)
        let central = try LocalTrainer.train(
            spec: spec,
            globalWeights: global,
            data: union,
            config: TrainingConfig(learningRate: 0.5, localEpochs: 1, batchSize: union.count, l2: 1e-3),
            rng: &rng
        )
        let gap = zip(federated, central).map { abs($0 - $1) }.max() ?? .infinity
        let moved = zip(central, global).map { abs($0 - $1) }.max() ?? 0
        #expect(moved > 1e-2)
        #expect(gap < 1e-5)
    }
}

/// The checks in front of every fold: nothing a peer sends may trap or poison a running sum.
struct AggregationRefusalTests {
    static func bytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    @Test func anUpdateThatWouldMakeTheSumInfiniteIsRefusedAndTheSumIsKept() {
        let strategy = FedAvg()
        var accumulator = strategy.makeAccumulator(parameterCount: 9)
        let big = Self.bytes([Float](repeating: 3.4e38, count: 9))
        big.withUnsafeBytes { raw in
            #expect(strategy.refusal(ofLittleEndian: raw, weight: 1, in: accumulator) == nil)
            strategy.accumulate(littleEndianBytes: raw, weight: 1, into: &accumulator)
            #expect(strategy.refusal(ofLittleEndian: raw, weight: 1, in: accumulator)?.code == .overflow)
        }
        #expect(accumulator.sum == [Float](repeating: 3.4e38, count: 9))
        Self.bytes([1, 2]).withUnsafeBytes {
            #expect(strategy.refusal(ofLittleEndian: $0, weight: 1, in: accumulator)?.code == .shapeMismatch)
        }
        Self.bytes([Float](repeating: 0, count: 9)).withUnsafeBytes { raw in
            #expect(
                strategy.refusal(ofLittleEndian: raw, weight: .greatestFiniteMagnitude, in: accumulator)?.code
                    == .overflow
            )
        }
    }

    @Test func aPartialClaimingTooManyContributorsIsRefused() {
        let strategy = FedAvg()
        var accumulator = strategy.makeAccumulator(parameterCount: 2)
        strategy.combine(PartialAggregate(sum: [1, 1], weightSum: 1, count: Int.max), into: &accumulator)
        #expect(
            strategy.refusal(of: PartialAggregate(sum: [1, 1], weightSum: 1, count: 1), in: accumulator)?.code
                == .overflow
        )
    }

    /// DP-FedAvg's server side: weight 1 whatever is claimed, the norm recomputed against the bound.
    @Test func dpFixedClippingForcesWeightOneAndRefusesAboveTheBound() {
        let strategy = DPFixedClipping(FedAvg(), clipNorm: 1, denominator: 10, parameterCount: 4)
        var accumulator = strategy.makeAccumulator(parameterCount: 4)
        let atC = Self.bytes([0.5, 0.5, 0.5, 0.5])
        let above = Self.bytes([0.5, 0.5, 0.5, 0.5001])
        above.withUnsafeBytes {
            #expect(strategy.refusal(ofLittleEndian: $0, weight: 1, in: accumulator)?.code == .normTooLarge)
        }
        atC.withUnsafeBytes { raw in
            #expect(strategy.refusal(ofLittleEndian: raw, weight: 1_000, in: accumulator) == nil)
            strategy.accumulate(littleEndianBytes: raw, weight: 1_000, into: &accumulator)
        }
        #expect(accumulator.weightSum == 1)
        #expect(strategy.average(of: accumulator.sum) == [0.05, 0.05, 0.05, 0.05])
        // A worker's own noise share widens the bound by σ(√d + 10).
        let noised = DPFixedClipping(
            FedAvg(),
            clipNorm: 1,
            denominator: 10,
            workerNoiseStandardDeviation: 0.1,
            parameterCount: 4
        )
        #expect(abs(noised.normBound - (1 + 1e-5 + 1e-6 + 0.1 * 12)) < 1e-12)
    }
}
