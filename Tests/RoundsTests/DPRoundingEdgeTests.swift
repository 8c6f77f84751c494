import Federation
import Learning
import Testing
import Wire

@testable import Rounds

/// A hostile or misconfigured coordinator announces `topk` under distributed noise: each device
/// would keep its own largest coordinates, so a coordinate of the sum carries only the noise
/// shares of the devices that kept it. Shards refuse to sum such a round, but a device that
/// trains on it still spends its data for nothing; it refuses the round before sampling.
@Suite struct DPRoundingEdgeTests {
    typealias F = ShardFixtures

    /// The coordinator's bytes, through the real codec: distributed noise, `topk:0.1`.
    static func hostileOpen() throws -> RoundOpen {
        var open = F.open(privacy: F.privacy(.distributed, noise: 1, cohort: 3), selection: .poisson)
        open.body.samplingRate = 1
        open.body.modelDigest = String(repeating: "a", count: 64)
        open.body.compression = try CompressionChoice.parse("topk:0.1").get().settings(range: F.clipNorm, seed: 3)
        let codec = WireCodec()
        let frames = try codec.encode(open.body, sender: "coordinator")
        return try codec.decode(frames, as: RoundOpen.self).get().body
    }

    @Test func aTopKRoundUnderDistributedNoiseFromAHostileCoordinatorIsRefused() throws {
        let round = try Self.hostileOpen()
        var generator = SeededGenerator(seed: 1)
        let participation = EdgeRound.participation(
            in: round,
            workerId: F.members[0],
            deviceClass: .watch,
            using: &generator
        )
        guard case .refused(let why) = participation else {
            Issue.record("a device took part in a topk round under distributed noise: \(participation)")
            return
        }
        #expect(why.contains("topk"))
    }

    /// `randk` keeps public coordinates, the same on every device: still taken part in.
    @Test func aRandKRoundUnderDistributedNoiseIsStillTakenPartIn() throws {
        var round = try Self.hostileOpen()
        round.compression = try CompressionChoice.parse("randk:0.1").get().settings(range: F.clipNorm, seed: 3)
        var generator = SeededGenerator(seed: 1)
        #expect(
            EdgeRound.participation(in: round, workerId: F.members[0], deviceClass: .watch, using: &generator)
                == .selected(round.shards[0])
        )
    }
}
