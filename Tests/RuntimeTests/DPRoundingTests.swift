import Federation
import Foundation
import Learning
import Privacy
import Rounds
import Testing
import Wire

@testable import Runtime

/// Distributed noise with q8 on the plain path: each device adds only its share of the noise,
/// so its stochastic rounding is not post-processing of a DP output. The rounding error (up to
/// √d·u in norm) depends on the device's data, and two neighbouring datasets can move the
/// device's decoded contribution apart by up to C + 2·√d·u while the auditor charges for C.
///
/// The attacker here is the neighbouring-dataset analyst: the same device, the same noise and
/// rounding draws (a coupling, as the sensitivity argument needs), once with data that clips
/// to C and once with data whose delta is 0; the shaping and encoding are the edge's own.
@Suite struct DPRoundingTests {
    static let clipNorm = 1.0

    /// A distributed-noise q8 round with the range the coordinator derives (C + 4σ_w).
    static func round(compression: String = "q8") throws -> RoundOpen {
        let privacy = PrivacySettings(
            placement: .distributed,
            clipNorm: clipNorm,
            noiseMultiplier: 0.5,
            expectedCohort: 100
        )
        var settings = CoordinatorSettings()
        settings.privacy = privacy
        settings.compression = try CompressionChoice.parse(compression).get()
        return RoundOpen(
            roundId: 3,
            kind: .train,
            modelVersion: 2,
            modelDigest: "00",
            modelSpec: .object([:]),
            training: TrainingSettings(epochs: 1, batchSize: 8, learningRate: 0.1, l2: 0, proxMu: 0),
            privacy: privacy,
            selection: .poisson,
            samplingRate: 0.5,
            shards: [ShardAssignment(region: .watch, shard: 0, endpoint: "tcp://127.0.0.1:7100", members: ["w"])],
            globalEndpoint: "tcp://127.0.0.1:7200",
            deadlineMillis: 10_000,
            minParticipants: 1,
            samplingSeed: nil,
            compression: settings.compressionSettings(privacy: privacy, kind: .train, roundId: 3)
        )
    }

    /// What the shard decodes from this device's update, shaped and encoded as the edge does.
    static func decodedContribution(of raw: [Float], round: RoundOpen, seed: UInt64) throws -> [Float] {
        var delta = raw
        var rng = SeededGenerator(seed: seed)
        _ = UpdateShaping.apply(to: &delta, round: round, residual: [], rng: &rng)
        var residual: [Float] = []
        let tensors = UpdateShaping.encode(delta, round: round, residual: &residual, rng: &rng)
        let settings = try #require(round.compression)
        let plan = try CompressionPlan.make(settings, parameterCount: raw.count, roundId: round.roundId).get()
        return try UpdateDecoder(plan: plan).decode(tensors).get()
    }

    /// d = 2000 at q8 leaves room under the fix (2·√d·u ≈ 0.84·C); with the old clip to C the
    /// coupled contributions differ by up to 1.02·C over these seeds.
    @Test func neighbouringDatasetsMoveADevicesQuantizedContributionByAtMostC() throws {
        let dimension = 2_000
        let round = try Self.round()
        let data = (0..<dimension).map { Float(sin(Double($0) * 0.7)) * 5 }
        let empty = [Float](repeating: 0, count: dimension)
        var largest = 0.0
        for seed in UInt64(1)...8 {
            let withData = try Self.decodedContribution(of: data, round: round, seed: seed)
            let without = try Self.decodedContribution(of: empty, round: round, seed: seed)
            largest = max(largest, Clipping.l2Norm(zip(withData, without).map { $0 - $1 }))
        }
        #expect(
            largest <= Self.clipNorm * (1 + 1e-6),
            "one device's decoded contribution moved by \(largest) between neighbouring datasets; the auditor charges for C = \(Self.clipNorm)"
        )
    }

    /// d = 10⁴ at q8: rounding can move the contribution by 2·√d·u ≈ 1.9·C, more than C itself.
    /// The edge refuses the round, and the delta it was given holds nothing of the data.
    @Test func aDistributedQ8RoundWithNoRoomLeftIsRefusedAndSendsNothing() throws {
        let round = try Self.round()
        var delta = (0..<10_000).map { Float(sin(Double($0))) }
        var rng = SeededGenerator(seed: 1)
        let shaped = UpdateShaping.apply(to: &delta, round: round, residual: [], rng: &rng)
        guard case .failure(let refusal) = shaped else {
            Issue.record("a round whose rounding exceeds C was shaped: \(shaped)")
            return
        }
        #expect(refusal.reason.contains("10000-parameter"))
        #expect(delta.allSatisfy { $0 == 0 })
    }

    /// Local noise is private on each device and the shard re-measures a central round's
    /// decoded norm: both still clip to C under q8, whatever d is.
    @Test func localAndCentralNoiseStillClipToC() throws {
        var round = try Self.round()
        for placement in [Wire.NoisePlacement.local, Wire.NoisePlacement.central] {
            round.privacy.placement = placement
            let norm = EdgeRound.plainClipNorm(
                privacy: round.privacy,
                compression: round.compression,
                parameterCount: 10_000,
                roundId: round.roundId
            )
            #expect(norm == .success(Self.clipNorm), "\(placement)")
        }
    }
}
