import Learning
import Privacy
import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// A `skellam` round through the shard and device sessions (every message through the codec):
/// devices mask Skellam integers, the shard decodes the unmasked sum with the Skellam decoder
/// and releases nothing of fewer than `minimumSurvivors`.
@Suite struct SecAggSkellamTests {
    static let skellam = SkellamSettings(
        scale: 256,
        deviceVariance: 100,
        dimension: SecAggSessionTests.parameters,
        valueBits: 20,
        roundingBeta: SkellamParameters.standardRoundingBeta,
        minimumSurvivors: 4
    )

    static func open(devices: Int, skellam: SkellamSettings? = Self.skellam) -> Message<RoundOpen> {
        var message = SecAggSessionTests.open(devices: devices)
        message.body.privacy = PrivacySettings(placement: .skellam, clipNorm: 4, noiseMultiplier: 0, expectedCohort: 1)
        message.body.secureAggregation?.skellam = skellam
        return message
    }

    /// Opens `message` on the shard and every member not in `silent` (member i masking
    /// `delta(i)`), then runs the stages' deadlines until the shard sends its partial.
    static func run(
        _ message: Message<RoundOpen>,
        silent: Set<String> = [],
        goneBefore: [String: String] = [:],
        seed: UInt64 = 11,
        delta: (Int) -> [Float] = SecAggSessionTests.delta
    ) throws -> SecAggSessionTests.Run {
        var run = SecAggSessionTests.Run()
        run.generator = SeededGenerator(seed: seed)
        run.goneBefore = goneBefore
        try run.deliver(run.shard.roundOpened(message, now: 1_000, using: &run.generator))
        let assignment = try #require(message.body.shards.first)
        for (index, id) in assignment.members.enumerated() where !silent.contains(id) {
            let started = try SecAggDeviceSession.start(
                message,
                assignment: assignment,
                deviceId: id,
                delta: delta(index),
                using: &run.generator
            ).get()
            run.devices[id] = started.session
            try run.deliver(
                run.shard.received(
                    SecAggSessionTests.message(started.first, from: id),
                    from: PeerIdentity(claimed: id, authenticated: id),
                    byteCount: 100,
                    now: 1_500
                )
            )
        }
        for now in stride(from: Int64(1_000), through: 20_000, by: 250) where run.partial == nil {
            try run.deliver(run.shard.timerFired(now: now))
        }
        return run
    }

    static func expectedSum(of indices: [Int]) -> [Float] {
        indices.reduce([Float](repeating: 0, count: SecAggSessionTests.parameters)) {
            zip($0, SecAggSessionTests.delta($1)).map { $0 + $1 }
        }
    }

    @Test func theReleasedSumIsTheSurvivorsUpdatesPlusSkellamNoiseAndTheRecordCountsThem() throws {
        let run = try Self.run(Self.open(devices: 10), silent: ["watch-7"], goneBefore: ["watch-2": "shares"])
        let (partial, tensors) = try #require(run.partial)
        #expect(run.failures.isEmpty)
        #expect(partial.contributors == 8 && partial.weightSum == 8)
        let record = try #require(partial.secureAggregation)
        #expect(record.survivors == 8 && record.advertised == 9)
        #expect(record.valueBits == 20, "the record names the Skellam value bits, not the quantizer's 16")
        let sum = try #require(tensors.first { $0.name == "sum" }).floats()
        let expected = Self.expectedSum(of: (0..<10).filter { $0 != 7 && $0 != 2 })
        // Noise Sk(8μ)/γ per coordinate: σ = √800/256 ≈ 0.11; rounding adds < 8/γ. 8σ + 8/γ < 1.
        for (got, want) in zip(sum, expected) { #expect(abs(got - want) < 1, "got \(got), want \(want)") }
        // The noise is there: the sum is not the exact one (P(all six noises are 0) ≈ 0.04⁶).
        #expect(zip(sum, expected).contains { abs($0 - $1) > 1e-3 })
    }

    @Test func aSumOfFewerThanTheMinimumSurvivorsIsNotReleased() throws {
        var settings = Self.skellam
        settings.minimumSurvivors = 9
        let run = try Self.run(
            Self.open(devices: 10, skellam: settings),
            silent: ["watch-7"],
            goneBefore: ["watch-2": "shares"]
        )
        let (partial, tensors) = try #require(run.partial)
        #expect(run.failures.count == 1 && run.failures.first?.contains("fewer than the 9") == true)
        #expect(partial.contributors == 0 && partial.secureAggregation == nil)
        #expect(tensors.first?.floats() == [Float](repeating: 0, count: SecAggSessionTests.parameters))
    }

    /// Settings for another model length (what a coordinator of another model would send) and
    /// a value width too narrow for γ·C plus the noise are refused by the shard and the device.
    @Test func skellamSettingsThatDoNotFitTheModelOrTheBitsAreRefusedOnBothSides() throws {
        var longer = Self.skellam
        longer.dimension += 1
        var narrow = Self.skellam
        narrow.valueBits = 8
        for (settings, code) in [(longer, RejectReason.shapeMismatch), (narrow, .shapeMismatch)] {
            let message = Self.open(devices: 6, skellam: settings)
            var run = SecAggSessionTests.Run()
            try run.deliver(run.shard.roundOpened(message, now: 1_000, using: &run.generator))
            #expect(run.failures.count == 1 && run.partial?.0.contributors == 0)
            let started = SecAggDeviceSession.start(
                message,
                assignment: try #require(message.body.shards.first),
                deviceId: "watch-0",
                delta: SecAggSessionTests.delta(0),
                using: &run.generator
            )
            guard case .failure(let error) = started else {
                Issue.record("a device started a Skellam round with \(settings)")
                continue
            }
            #expect(error.code == code)
        }
    }

    /// `skellam` without its numbers cannot be decoded (the codec refuses it), and a value
    /// built in code is refused by the plan before any noise is drawn.
    @Test func aSkellamRoundWithoutItsSettingsIsRefused() throws {
        let message = Self.open(devices: 6, skellam: nil)
        #expect(SecAggPlan.refusal(of: message.body)?.detail.contains("Skellam settings") == true)
        // The codec refuses to encode it (and to decode it: the same validation runs on both).
        #expect {
            try WireCodec().encode(message.body, sender: "coordinator", tensors: message.tensors)
        } throws: { error in
            (error as? WireError)?.detail.contains("skellam: is required when placement is skellam") == true
        }
    }
}
