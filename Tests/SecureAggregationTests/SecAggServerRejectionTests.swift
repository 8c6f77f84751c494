import Learning
import Testing
import Wire

@testable import SecureAggregation

/// A device (or anyone) sending the shard what the current stage does not allow.
@Suite struct SecAggServerRejectionTests {
    static func reasons(_ actions: [SecAggServerAction]) -> [RejectReason] {
        actions.compactMap { if case .reject(let reason, _, _) = $0 { reason } else { nil } }
    }

    @Test func foreignDuplicateAndMalformedKeysAreRejected() throws {
        var round = try ManualRound(devices: 6, degree: 2, threshold: 2, seed: 41)
        let keys = try round.client("watch-0").advertisedKeys()
        #expect(round.server.keysAdvertised(keys, from: "watch-0").isEmpty)
        #expect(Self.reasons(round.server.keysAdvertised(keys, from: "watch-0")) == [.duplicate])
        #expect(Self.reasons(round.server.keysAdvertised(keys, from: "intruder")) == [.notInCohort])
        let short = AdvertisedKeys(
            cipherPublicKey: [1, 2],
            maskPublicKey: keys.maskPublicKey,
            seedCommitment: keys.seedCommitment
        )
        #expect(Self.reasons(round.server.keysAdvertised(short, from: "watch-1")) == [.malformedHeader])
        // A masked input before the key stages is for another stage.
        let early = try #require(ModularVector.zero(bits: 18, count: 16))
        #expect(Self.reasons(round.server.maskedInputReceived(early, from: "watch-0")) == [.roundClosed])
    }

    @Test func sharesNotOncePerNeighbourAreRejected() throws {
        var round = try ManualRound(devices: 8, degree: 4, threshold: 2, seed: 42)
        let announcements = try round.advertise()
        let (id, announcement) = try #require(announcements.sorted { $0.key < $1.key }.first)
        var device = try round.client(id)
        var generator = SeededGenerator(seed: 2)
        let shares = try device.neighboursAnnounced(announcement, using: &generator)
        #expect(Self.reasons(round.server.sharesSent(Array(shares.dropLast()), from: id)) == [.malformedHeader])
        #expect(Self.reasons(round.server.sharesSent(shares + [shares[0]], from: id)) == [.malformedHeader])
        let spoofed = shares.map {
            EncryptedShare(sender: "watch-x", recipient: $0.recipient, ciphertext: $0.ciphertext)
        }
        #expect(Self.reasons(round.server.sharesSent(spoofed, from: id)) == [.malformedHeader])
        #expect(round.server.sharesSent(shares, from: id).isEmpty)
        #expect(Self.reasons(round.server.sharesSent(shares, from: id)) == [.duplicate])
    }

    @Test func wrongShapeInputsAndUnrequestedSharesAreRejected() throws {
        var round = try ManualRound(devices: 8, degree: 4, threshold: 2, seed: 43)
        let forwarded = try round.share(try round.advertise())
        let id = try #require(forwarded.keys.sorted().first)
        let wrongLength = try #require(ModularVector.zero(bits: 18, count: 15))
        let wrongModulus = try #require(ModularVector.zero(bits: 30, count: 16))
        #expect(Self.reasons(round.server.maskedInputReceived(wrongLength, from: id)) == [.shapeMismatch])
        #expect(Self.reasons(round.server.maskedInputReceived(wrongModulus, from: id)) == [.shapeMismatch])
        let requests = try round.mask(forwarded)
        let (holder, request) = try #require(requests.sorted { $0.key < $1.key }.first)
        var device = try round.client(holder)
        let answer = try device.unmaskRequested(request)
        // The same shares claimed by a device at another point, and a share nobody asked for.
        let other = try #require(requests.keys.sorted().last)
        #expect(Self.reasons(round.server.unmaskingReceived(answer, from: other)) == [.malformedHeader])
        let extra = UnmaskResponse(
            selfMaskSeedShares: answer.selfMaskSeedShares,
            maskKeyShares: answer.selfMaskSeedShares
        )
        #expect(Self.reasons(round.server.unmaskingReceived(extra, from: holder)) == [.malformedHeader])
        #expect(Self.reasons(round.server.unmaskingReceived(answer, from: holder)).isEmpty)
        #expect(Self.reasons(round.server.unmaskingReceived(answer, from: holder)) == [.duplicate])
    }
}
