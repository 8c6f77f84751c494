import Learning
import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// A `secagg.*` message for another round or shard is refused for that (`staleRound`,
/// `wrongShard`), as before points replaced ids: the shard must not read its points against the
/// open round's book first. A late honest device of the previous round (whose cohort was larger)
/// names points the new round's ring does not have; refused as `malformedHeader`, it would be
/// counted as a garbled or hostile message, and a metric of attacks would count honest lateness.
///
/// `OpenSecAggRound.received` reads the round and shard from the header before the frames.
@Suite struct Review6SecAggStaleTests {
    /// Round 9 open at the shard with six members (points 1…6).
    static func openShard() -> SecAggShardSession {
        var shard = SecAggShardSession(region: .watch, shard: 0)
        var generator = SeededGenerator(seed: 3)
        _ = shard.roundOpened(SecAggSessionTests.open(devices: 6), now: 1_000, using: &generator)
        return shard
    }

    /// A well-formed unmask response naming point 8, as a device of an eight-member round sends
    /// it: one share of the self-mask seed of the neighbour at point 8, sealed at its own point 3.
    static func response(roundId: Int, shard: Int) throws -> AnyMessage {
        let point: UInt32 = 8
        let points = withUnsafeBytes(of: point.littleEndian, Array.init)
        // The point 3, then eight canonical limbs, each little-endian.
        let share = ([3] + [UInt64](repeating: 7, count: 8)).flatMap {
            withUnsafeBytes(of: $0.littleEndian, Array.init)
        }
        return try SecAggSessionTests.wire(
            SecAggUnmaskResponse(roundId: roundId, shard: shard, selfMaskSeedOwners: 1, maskKeyOwners: 0),
            sender: "watch-3",
            tensors: [SecAggRecords.frame("points", points), SecAggRecords.frame("shares", share)]
        )
    }

    static func reasons(_ actions: [SecAggShardAction]) -> [RejectReason] {
        actions.compactMap { if case .reject(let reason, _, _, _) = $0 { reason } else { nil } }
    }

    /// Round 8 at shard 0 (a late device of the last round) and round 9 at shard 1 (another
    /// shard's device): refused for what they are, with the points never read.
    @Test(arguments: [(8, 0, RejectReason.staleRound), (9, 1, .wrongShard)])
    func aMessageForAnotherRoundOrShardIsRefusedForThatNotAsMalformed(
        roundId: Int,
        shard messageShard: Int,
        reason: RejectReason
    ) throws {
        var shard = Self.openShard()
        let actions = shard.received(
            try Self.response(roundId: roundId, shard: messageShard),
            from: PeerIdentity(claimed: "watch-3", authenticated: "watch-3"),
            byteCount: 100,
            now: 1_200
        )
        #expect(Self.reasons(actions) == [reason])
    }
}
