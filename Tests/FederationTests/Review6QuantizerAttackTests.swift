import Learning
import Testing
import Wire

@testable import Federation

/// A `round.open` whose q8/q4 range the wire accepts ((0, 1e6] as a Double) but which, as the
/// edge's Float, leaves a quantization step of 0: every value then scales to +∞, and the level's
/// integer conversion trapped, ending the edge process and every device it hosts.
@Suite struct Review6QuantizerAttackTests {
    /// The attacker's setting inside a `round.open`, through the real codec as an edge receives it.
    static func forgedSettings(
        _ quantization: CompressionSettings.Quantization,
        range: Double
    ) throws
        -> CompressionSettings
    {
        let settings = CompressionSettings(quantization: quantization, sparsification: .none, range: range)
        let body = RoundOpen(
            roundId: 3,
            kind: .train,
            modelVersion: 0,
            modelDigest: String(repeating: "0", count: 64),
            modelSpec: .object([:]),
            training: TrainingSettings(epochs: 1, batchSize: 8, learningRate: 0.1, l2: 0, proxMu: 0),
            privacy: PrivacySettings(placement: .off, clipNorm: nil, noiseMultiplier: 0, expectedCohort: 1),
            shards: [ShardAssignment(region: .watch, shard: 0, endpoint: "tcp://127.0.0.1:7100", members: ["w"])],
            globalEndpoint: "tcp://127.0.0.1:7200",
            deadlineMillis: 10_000,
            minParticipants: 1,
            samplingSeed: 1,
            compression: settings
        )
        let codec = WireCodec()
        let frames = try codec.encode(body, sender: "coordinator", tensors: [.f32le(name: "weights", [0])])
        let decoded = try codec.decode(frames, as: RoundOpen.self).get()
        return try #require(decoded.body.compression)
    }

    @Test(arguments: [CompressionSettings.Quantization.q8, .q4], [1e-44, 1e-45, 1e-300])
    func aRangeWhoseFloatStepIsZeroDoesNotTrapTheEdge(
        _ quantization: CompressionSettings.Quantization,
        range: Double
    ) throws {
        let settings = try Self.forgedSettings(quantization, range: range)
        // The plan refuses the round (the edge then sends plain f32, which the shard refuses by
        // encoding), rather than quantizing onto a grid that does not exist.
        let made = CompressionPlan.make(settings, parameterCount: 64, roundId: 3)
        #expect(throws: WireError.self) { try made.get() }
        // And the quantizer itself, should such a range reach it, writes only valid levels.
        let levels = quantization == .q8 ? 255 : 15
        let quantizer = StochasticQuantizer(levels: levels, range: Float(range))
        var rng = SeededGenerator(seed: 4)
        for value in [Float(-1), 0, .leastNonzeroMagnitude, 1, .infinity, -.infinity, .nan] {
            let level = quantizer.level(of: value, using: &rng)
            #expect((0...levels).contains(level), "\(value) → \(level)")
        }
    }

    /// The smallest ranges that still have a normal step are planned and round-trip.
    @Test(arguments: [CompressionSettings.Quantization.q8, .q4])
    func aTinyButUsableRangeIsStillPlanned(_ quantization: CompressionSettings.Quantization) throws {
        let settings = try Self.forgedSettings(quantization, range: 1e-30)
        let plan = try CompressionPlan.make(settings, parameterCount: 64, roundId: 3).get()
        var rng = SeededGenerator(seed: 5)
        let encoded = UpdateEncoder(plan: plan).encode([Float](repeating: 1e-31, count: 64), using: &rng)
        let decoded = try UpdateDecoder(plan: plan).decode(encoded.tensors).get()
        #expect(decoded.count == 64)
        #expect(decoded.allSatisfy { $0.isFinite && abs($0) <= 1e-30 * 1.01 })
    }
}
