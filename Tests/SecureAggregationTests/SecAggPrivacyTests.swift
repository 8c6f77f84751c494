import Learning
import Testing

@testable import SecureAggregation

/// What the shard sees, and what honest devices refuse to hand it.
@Suite(.timeLimit(.minutes(2)))
struct SecAggPrivacyTests {
    @Test func shardNeverHoldsOneDevicesUnmaskedVector() throws {
        let (simulated, inputs, configuration) = try simulate(
            devices: 16,
            degree: 6,
            threshold: 3,
            seed: 21,
            dropouts: SecAggDropoutPlan(afterSharing: ["watch-4"], afterMaskedInput: ["watch-8"]),
            recordsObservations: true
        )
        let report = try #require(simulated)
        let result = try report.outcome.get()
        let server = report.server
        #expect(server.rebuiltSeedOwners.isDisjoint(with: server.rebuiltKeyOwners))
        #expect(server.rebuiltKeyOwners == ["watch-4"])
        var seeds: [String: [UInt8]] = [:]
        for case .selfMaskSeedRebuilt(let owner, let seed) in server._observations { seeds[owner] = seed }
        var maskedInputs = 0
        for case .maskedInput(let id, let vector) in server._observations {
            maskedInputs += 1
            let input = try #require(inputs[id])
            #expect(vector != input)
            // Even with its self mask removed (the shard does rebuild that seed), the vector
            // still carries pairwise masks the shard cannot compute.
            var stripped = vector
            let key = KeyDerivation.selfMaskKey(seed: try #require(seeds[id]), roundId: "round-21", deviceId: id)
            stripped.subtract(try MaskExpander.expand(key: key, count: vector.values.count, bits: vector.bits))
            #expect(stripped != input)
        }
        #expect(maskedInputs == result.survivors.count)
        // The one plain vector the shard releases is the sum of at least the threshold's worth of devices.
        #expect(result.survivors.count >= configuration.threshold + 1)
    }

    @Test func shardAskingForBothSecretsOfOneDeviceIsRefused() throws {
        var round = try ManualRound(devices: 10, degree: 4, threshold: 2, seed: 31)
        let requests = try round.mask(try round.share(try round.advertise()))
        let (victimHolder, honest) = try #require(requests.sorted { $0.key < $1.key }.first)
        let target = try #require(honest.survivors.first)
        var device = try round.client(victimHolder)
        let forged = UnmaskRequest(survivors: honest.survivors, dropped: honest.dropped + [target])
        #expect(throws: SecAggClientError.survivorAlsoDropped(target)) { try device.unmaskRequested(forged) }
        // Having seen a lie, the device answers nothing more, not even the honest request.
        #expect(device.stage == .failed)
        #expect(throws: SecAggClientError.wrongStage(expected: .maskedInput, actual: .failed)) {
            try device.unmaskRequested(honest)
        }
    }

    @Test func shardReplayingAnUnmaskRequestWithOtherSetsIsRefused() throws {
        // A second request for the same device under another split (first "survivor", then
        // "dropped") would give the shard both secrets across two answers.
        var round = try ManualRound(devices: 10, degree: 4, threshold: 2, seed: 32)
        let requests = try round.mask(try round.share(try round.advertise()))
        let (id, honest) = try #require(requests.sorted { $0.key < $1.key }.first)
        var device = try round.client(id)
        let answer = try device.unmaskRequested(honest)
        #expect(Set(answer.selfMaskSeedShares.keys) == Set(honest.survivors))
        let flipped = UnmaskRequest(survivors: Array(honest.survivors.dropFirst()), dropped: [honest.survivors[0]])
        #expect(throws: SecAggClientError.wrongStage(expected: .maskedInput, actual: .completed)) {
            try device.unmaskRequested(flipped)
        }
    }

    @Test func shardRelabellingAShareIsDetectedByTheDevice() throws {
        var round = try ManualRound(devices: 10, degree: 4, threshold: 2, seed: 33)
        let forwarded = try round.share(try round.advertise())
        let (id, shares) = try #require(forwarded.sorted { $0.key < $1.key }.first)
        let other = try #require(shares.last?.sender)
        var relabelled = shares
        relabelled[0] = EncryptedShare(sender: other, recipient: id, ciphertext: shares[0].ciphertext)
        relabelled.removeLast()
        var device = try round.client(id)
        let input = try #require(round.inputs[id])
        #expect(throws: SecAggClientError.badShare(from: other)) {
            try device.sharesForwarded(relabelled, input: input)
        }
        #expect(device.stage == .failed)
    }

    @Test func deviceRefusesAnAnnouncementWithTooFewNeighbours() throws {
        var round = try ManualRound(devices: 10, degree: 4, threshold: 3, seed: 34)
        let announcements = try round.advertise()
        let (id, announcement) = try #require(announcements.sorted { $0.key < $1.key }.first)
        let thinned = NeighbourAnnouncement(
            roundId: announcement.roundId,
            ownPoint: announcement.ownPoint,
            neighbours: Array(announcement.neighbours.prefix(2))
        )
        var device = try round.client(id)
        var generator = SeededGenerator(seed: 1)
        #expect(throws: SecAggClientError.tooFewNeighbours(have: 2, need: 3)) {
            try device.neighboursAnnounced(thinned, using: &generator)
        }
        let otherRound = NeighbourAnnouncement(
            roundId: "r2",
            ownPoint: announcement.ownPoint,
            neighbours: announcement.neighbours
        )
        var fresh = try round.client(id)
        #expect(throws: SecAggClientError.malformedAnnouncement("round r2")) {
            try fresh.neighboursAnnounced(otherRound, using: &generator)
        }
    }

    @Test func shardSubstitutingANeighboursKeysIsRefusedWhenKeysAreSigned() throws {
        var round = try ManualRound(devices: 10, degree: 4, threshold: 2, seed: 35, signed: true)
        let announcements = try round.advertise()
        let (id, announcement) = try #require(announcements.sorted { $0.key < $1.key }.first)
        // The shard keeps the victim's signature but swaps in key pairs it holds the secrets of.
        var shardGenerator = SeededGenerator(seed: 99)
        let shardKeys = try SecAggKeyPairs(using: &shardGenerator)
        let victim = announcement.neighbours[0]
        var neighbours = announcement.neighbours
        neighbours[0] = AnnouncedNeighbour(
            id: victim.id,
            point: victim.point,
            keys: AdvertisedKeys(
                cipherPublicKey: shardKeys.cipherPublicKey,
                maskPublicKey: shardKeys.maskPublicKey,
                seedCommitment: victim.keys.seedCommitment,
                signature: victim.keys.signature
            )
        )
        let forged = NeighbourAnnouncement(roundId: "1", ownPoint: announcement.ownPoint, neighbours: neighbours)
        var device = try round.client(id)
        var generator = SeededGenerator(seed: 3)
        #expect(throws: SecAggClientError.unverifiedKeys(victim.id)) {
            try device.neighboursAnnounced(forged, using: &generator)
        }
        // The untouched announcement verifies and the signed round goes through to the end.
        let requests = try round.mask(try round.share(announcements))
        #expect(requests.count == 10)
    }

    @Test func aWrongSeedShareFailsTheRoundInsteadOfReleasingAMaskedSum() throws {
        // Threshold = degree: every holder's share is used, so one forged share must show.
        var round = try ManualRound(devices: 10, degree: 4, threshold: 4, seed: 36)
        let requests = try round.mask(try round.share(try round.advertise()))
        var outcome: [SecAggServerAction] = []
        for (index, (id, request)) in requests.sorted(by: { $0.key < $1.key }).enumerated() {
            var device = try round.client(id)
            var answer = try device.unmaskRequested(request)
            if index == 0, let (owner, share) = answer.selfMaskSeedShares.min(by: { $0.key < $1.key }) {
                let forged = ShamirShare(x: share.x, values: share.values.map { ($0 + 1) % PrimeField.modulus })
                var shares = answer.selfMaskSeedShares
                shares[owner] = forged
                answer = UnmaskResponse(selfMaskSeedShares: shares, maskKeyShares: answer.maskKeyShares)
            }
            outcome += round.server.unmaskingReceived(answer, from: id)
        }
        guard case .fail(.reconstructionFailed) = outcome.last else {
            Issue.record("expected reconstructionFailed, got \(outcome)")
            return
        }
        #expect(!outcome.contains { if case .complete = $0 { true } else { false } })
    }
}
