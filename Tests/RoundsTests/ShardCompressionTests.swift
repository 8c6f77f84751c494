import Federation
import Learning
import Testing
import Wire

@testable import Rounds

/// A shard under a compressed round: it decodes by the round's plan and applies the DP norm
/// check to the decoded update, so an encoding cannot carry a larger norm past it.
@Suite struct ShardCompressionTests {
    typealias F = ShardFixtures

    static func open(_ text: String, placement: NoisePlacement = .central) throws -> Message<RoundOpen> {
        var open = F.open(privacy: F.privacy(placement))
        let choice = try CompressionChoice.parse(text).get()
        open.body.compression = choice.settings(range: F.clipNorm, seed: 11)
        return open
    }

    static func update(_ worker: String, tensors: [Tensor]) -> Message<Update> {
        var message = F.update(worker)
        message.tensors = tensors
        return message
    }

    static func honest(_ worker: String, _ open: Message<RoundOpen>, value: Float = 0.5) throws -> Message<Update> {
        let settings = try #require(open.body.compression)
        let plan = try CompressionPlan.make(settings, parameterCount: F.parameters, roundId: F.roundId).get()
        var rng = SeededGenerator(seed: 1)
        let tensors = UpdateEncoder(plan: plan).encode([Float](repeating: value, count: F.parameters), using: &rng)
            .tensors
        return update(worker, tensors: tensors)
    }

    /// The attacker sends every q8 level at 255: each coordinate decodes to +R = +C, a norm of
    /// 2C on four parameters, while the header claims norm 0 and nothing clipped.
    @Test func q8LevelsCannotSmuggleANormPastTheCheck() throws {
        var shard = F.shard()
        let open = try Self.open("q8")
        _ = shard.roundOpened(open, now: 0)
        let forged = Self.update(
            "watch-0",
            tensors: [.encoded(name: "delta", encoding: .q8, bytes: [255, 255, 255, 255], elementCount: 4)]
        )
        let actions = shard.updateReceived(forged, from: .init(claimed: "watch-0"), byteCount: 1, now: 1)
        #expect(actions.rejections == [.normTooLarge])
        // Honest workers at norm C still get in (re-clipped to C when rounding pushed them over).
        for worker in ["watch-1", "watch-2"] {
            let accepted = shard.updateReceived(
                try Self.honest(worker, open),
                from: .init(claimed: worker),
                byteCount: 1,
                now: 1
            )
            #expect(accepted.accepted == [worker])
        }
        let late = shard.timerFired(now: F.deadline + 1)
        let partial = try #require(late.partial)
        #expect(partial.body.contributors == 2)
        #expect(partial.body.rejected == ["normTooLarge": 1])
        let sum = partial.tensors[0].floats()
        let norm = sum.map { Double($0 * $0) }.reduce(0, +).squareRoot()
        #expect(norm <= 2 * F.clipNorm * (1 + 1e-5))
    }

    @Test func aTopKIndexOutOfRangeIsRefused() throws {
        var shard = F.shard()
        _ = shard.roundOpened(try Self.open("topk:0.5"), now: 0)
        let forged = Self.update(
            "watch-0",
            tensors: [
                .f32le(name: "delta", [0.1, 0.1]),
                .encoded(name: "deltaIndex", encoding: .gapVarint, bytes: [1, 100], elementCount: 2),
            ]
        )
        let actions = shard.updateReceived(forged, from: .init(claimed: "watch-0"), byteCount: 1, now: 1)
        #expect(actions.rejections == [.shapeMismatch])
    }

    @Test func aPlainF32UpdateIsRefusedInACompressedRound() throws {
        var shard = F.shard()
        _ = shard.roundOpened(try Self.open("q8"), now: 0)
        let actions = shard.updateReceived(F.update("watch-0"), from: .init(claimed: "watch-0"), byteCount: 1, now: 1)
        #expect(actions.rejections == [.unsupportedEncoding])
    }

    @Test(arguments: ["q8", "q4,rotate", "randk:0.5,q8", "topk:0.5,q8"])
    func honestCompressedUpdatesAreSummed(_ text: String) throws {
        var shard = F.shard()
        let open = try Self.open(text, placement: .off)
        _ = shard.roundOpened(open, now: 0)
        var actions: [ShardAction] = []
        for worker in F.members {
            actions = shard.updateReceived(
                try Self.honest(worker, open, value: 0.25),
                from: .init(claimed: worker),
                byteCount: 1,
                now: 1
            )
            #expect(actions.accepted == [worker])
        }
        shard._checkInvariants()
        let partial = try #require(actions.partial)
        #expect(partial.body.contributors == 3)
        #expect(partial.tensors[0].elementCount == F.parameters)
    }
}
