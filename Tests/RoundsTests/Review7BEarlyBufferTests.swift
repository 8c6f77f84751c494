import Federation
import Learning
import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// The early buffers (messages for a round not yet announced) filled by one peer.
///
/// Both buffers kept anything for any later round id, from anyone, checked nothing until the
/// round opened, and let only a later `round.open` flush it: one enrolled device sending its
/// own 4 096 tiny updates for round 10¹² (or one rogue shard its 256 partials) filled the buffer
/// for the rest of the run, and every honest message that overtook its `round.open` after that
/// was refused `bufferFull`: an update or a whole shard's partial lost.
@Suite struct Review7BEarlyBufferTests {
    typealias F = ShardFixtures
    typealias G = GlobalFixtures

    static let farRound = 1_000_000_000_000

    @Test func oneDeviceCannotFillTheShardsEarlyBufferForEveryoneElse() throws {
        var shard = F.shard(earlyCount: 64)
        // The attacker is a member and authenticated as itself; every update is its own.
        for _ in 0..<64 {
            let flood = F.update("watch-1", roundId: Self.farRound)
            _ = shard.updateReceived(flood, from: .init(claimed: "watch-1"), byteCount: 1, now: 1)
        }
        // Its forgeries in others' names are not kept either.
        let forged = shard.updateReceived(
            F.update("watch-0", roundId: F.roundId),
            from: .init(claimed: "watch-1"),
            byteCount: 1,
            now: 1
        )
        #expect(forged.rejections == [.unauthorizedSender])
        // watch-2 trained fast and its update beat the shard's round.open.
        let early = shard.updateReceived(F.update("watch-2"), from: .init(claimed: "watch-2"), byteCount: 1, now: 1)
        #expect(early.rejections.isEmpty, "an honest early update was refused: \(early.rejections)")
        let opened = shard.roundOpened(F.open(), now: 2)
        #expect(opened.accepted == ["watch-2"])
    }

    @Test func oneRogueShardCannotFillTheGlobalsEarlyBufferForTheOthers() throws {
        var global = G.global()
        var generator = SeededGenerator(seed: 3)
        var flood = G.partial(shard: 1)
        flood.body.roundId = Self.farRound
        for _ in 0..<global.configuration.earlyBufferCount {
            _ = global.partialReceived(
                flood,
                from: .init(claimed: "region-watch-1"),
                byteCount: 1,
                now: 1,
                using: &generator
            )
        }
        func shardZero(from sender: String) -> [GlobalAction] {
            global.partialReceived(
                G.partial(shard: 0),
                from: .init(claimed: sender),
                byteCount: 1,
                now: 1,
                using: &generator
            )
        }
        // An edge cannot park partials in a shard's name.
        #expect(shardZero(from: "watch-0").rejections == [.unauthorizedSender])
        // Shard 0's honest partial arrives before the global saw the round open.
        let early = shardZero(from: "region-watch-0")
        #expect(early.rejections.isEmpty, "shard 0's partial was refused: \(early.rejections)")
        let opened = global.roundOpened(G.open(), now: 2, using: &generator)
        #expect(
            opened.contains { if case .note(.partialAccepted(shard: "watch/0", _, _)) = $0 { true } else { false } }
        )
    }
}

/// The secure shard's early keys: before its first secure round a shard kept keys for any
/// round id (4 096 in all, from anyone), and only a later `round.open` removed them.
@Suite struct Review7BSecAggEarlyKeysTests {
    @Test func oneDeviceCannotFillTheSecureShardsEarlyKeysForEveryoneElse() throws {
        let open = SecAggSessionTests.open(devices: 6)
        let assignment = try #require(open.body.shards.first)
        var generator = SeededGenerator(seed: 5)
        let honest = try SecAggDeviceSession.start(
            open,
            assignment: assignment,
            deviceId: "watch-2",
            delta: SecAggSessionTests.delta(2),
            using: &generator
        ).get()
        guard case .keys(let framed) = honest.first else {
            Issue.record("the device's first message is not its keys")
            return
        }
        var shard = SecAggShardSession(region: .watch, shard: 0)
        // The attacker, authenticated as itself, sends its own keys for round 10¹² over and over.
        var far = framed.body
        far.roundId = Review7BEarlyBufferTests.farRound
        let flood = try SecAggSessionTests.wire(far, sender: "watch-1", tensors: framed.tensors)
        for _ in 0..<SecAggShardSession.earlyLimit {
            _ = shard.received(flood, from: .init(claimed: "watch-1"), byteCount: 1, now: 1)
        }
        let keys = try SecAggSessionTests.wire(framed.body, sender: "watch-2", tensors: framed.tensors)
        let early = shard.received(keys, from: .init(claimed: "watch-2"), byteCount: 1, now: 1)
        #expect(
            !early.contains { if case .reject = $0 { true } else { false } },
            "watch-2's early keys were refused: \(early)"
        )
        _ = shard.roundOpened(open, now: 2, using: &generator)
        #expect(shard.current?.round?.server.advertisedCount == 1, "watch-2's keys were not replayed")
    }
}
