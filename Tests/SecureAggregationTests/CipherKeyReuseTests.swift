import Learning
import Testing

@testable import SecureAggregation

/// A device keeps its share-encryption ("c") key across rounds and caches X25519(c_u, C_v) per
/// neighbour key; the masking ("s") pair and the self-mask seed stay fresh every round.
@Suite(.timeLimit(.minutes(2)))
struct CipherKeyReuseTests {
    static let devices = 8

    /// Round 1 with fresh keys, then round 2 with every device's c key carried over.
    static func twoRounds() throws -> (first: ManualRound, second: ManualRound, sums: [SecAggResult?]) {
        var first = try ManualRound(devices: devices, degree: 4, threshold: 2, seed: 61, roundId: "1")
        let firstSum = try first.run()
        let kept = first.clients.mapValues(\.cipherKey)
        var second = try ManualRound(
            devices: devices,
            degree: 4,
            threshold: 2,
            seed: 61,
            roundId: "2",
            cipherKeys: kept
        )
        let secondSum = try second.run()
        return (first, second, [firstSum, secondSum])
    }

    @Test func keptCipherKeysGiveTheExactSumWithCachedAgreements() throws {
        let (first, second, sums) = try Self.twoRounds()
        for (round, sum) in zip([first, second], sums) {
            let result = try #require(sum)
            #expect(result.survivors.count == Self.devices)
            #expect(result.sum == plainSum(round.inputs, of: result.survivors, configuration: round.configuration))
        }
        for id in first.ids {
            let before = try first.client(id).advertisedKeys()
            let after = try second.client(id).advertisedKeys()
            #expect(before.cipherPublicKey == after.cipherPublicKey)
            // Never the s pair: its secret is rebuilt when the device drops, so it must be new.
            #expect(before.maskPublicKey != after.maskPublicKey)
            #expect(before.seedCommitment != after.seedCommitment)
            // Same seed, same ring: every neighbour's agreement came from round 1's cache.
            #expect(try first.client(id).cipherKey.cachedPeers == 4)
            #expect(try second.client(id).cipherKey.cachedPeers == 4)
        }
    }

    /// The shard replays a box from round 1 into round 2 between the same two devices, whose c
    /// keys (and so whose X25519 output) are the same: the AEAD key and the associated data both
    /// bind the round, so the box does not open and the device refuses it.
    @Test func aShareSealedInOneRoundDoesNotOpenInTheNext() throws {
        var first = try ManualRound(devices: Self.devices, degree: 4, threshold: 2, seed: 62, roundId: "1")
        let oldMail = try first.share(try first.advertise())
        var second = try ManualRound(
            devices: Self.devices,
            degree: 4,
            threshold: 2,
            seed: 62,
            roundId: "2",
            cipherKeys: first.clients.mapValues(\.cipherKey)
        )
        let newMail = try second.share(try second.advertise())
        let (id, replayed) = try #require(oldMail.sorted { $0.key < $1.key }.first)
        let fresh = try #require(newMail[id])
        #expect(Set(replayed.map(\.sender)) == Set(fresh.map(\.sender)))
        let input = try #require(second.inputs[id])
        var victim = try second.client(id)
        #expect(throws: SecAggClientError.self) { try victim.sharesForwarded(replayed, input: input) }
        #expect(victim.stage == .failed)
        var honest = try second.client(id)
        _ = try honest.sharesForwarded(fresh, input: input)
        #expect(honest.stage == .maskedInput)
    }

    /// A device that restarted between rounds advertises a new c key; its neighbours, who cached
    /// the old one, compute the new agreement and the round still sums exactly.
    @Test func aDeviceWithANewCipherKeyAfterARestartStillTakesPart() throws {
        var first = try ManualRound(devices: Self.devices, degree: 4, threshold: 2, seed: 63, roundId: "1")
        _ = try first.run()
        var kept = first.clients.mapValues(\.cipherKey)
        let restarted = try #require(first.ids.first)
        var restartGenerator = SeededGenerator(seed: 999)
        kept[restarted] = try SecAggCipherKey(using: &restartGenerator)
        var second = try ManualRound(
            devices: Self.devices,
            degree: 4,
            threshold: 2,
            seed: 63,
            roundId: "2",
            cipherKeys: kept
        )
        let result = try #require(try second.run())
        #expect(result.survivors.count == Self.devices)
        #expect(result.sum == plainSum(second.inputs, of: result.survivors, configuration: second.configuration))
        #expect(
            try first.client(restarted).advertisedKeys().cipherPublicKey
                != second.client(restarted).advertisedKeys().cipherPublicKey
        )
        let neighbours = second.server.graph.neighbours(of: restarted)
        for id in neighbours {
            // The old key's agreement and the new one's: one more peer in the cache.
            #expect(try second.client(id).cipherKey.cachedPeers == 5)
        }
    }
}
