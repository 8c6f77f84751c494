internal import Crypto

extension SecAggServer {
    /// Removes every mask left in the sum: each survivor's self mask (from its rebuilt seed) and,
    /// for each device that shared keys but sent no input, the pairwise masks its surviving
    /// neighbours added against it (from its rebuilt mask key). Pairwise masks between two
    /// survivors cancel in the sum by construction.
    mutating func finish() -> [SecAggServerAction] {
        let threshold = configuration.threshold
        var unmasked = sum
        do throws(any Error) {
            for owner in inputs.sorted() {
                let seed = try ShamirSharing.reconstruct(seedShares[owner] ?? [], threshold: threshold)
                guard
                    AdvertisedKeys.commitment(toSeed: seed, roundId: roundId, deviceId: owner)
                        == advertised[owner]?.seedCommitment
                else { return fail(.reconstructionFailed(owner: owner)) }
                rebuiltSeedOwners.insert(owner)
                if recordsObservations { _observations.append(.selfMaskSeedRebuilt(owner: owner, seed)) }
                let key = KeyDerivation.selfMaskKey(seed: seed, roundId: roundId, deviceId: owner)
                try MaskExpander.apply(key: key, to: &unmasked, subtracting: true)
            }
            for owner in keyTargets.sorted() {
                guard let ownerPoint = graph.point(of: owner), let advertisedKeys = advertised[owner] else {
                    return fail(.reconstructionFailed(owner: owner))
                }
                let raw = try ShamirSharing.reconstruct(keyShares[owner] ?? [], threshold: threshold)
                let privateKey = try KeyDerivation.privateKey(raw)
                guard Array(privateKey.publicKey.rawRepresentation) == advertisedKeys.maskPublicKey else {
                    return fail(.reconstructionFailed(owner: owner))
                }
                rebuiltKeyOwners.insert(owner)
                if recordsObservations { _observations.append(.maskKeyRebuilt(owner: owner, raw)) }
                for peer in graph.neighbours(of: owner) where inputs.contains(peer) {
                    guard let peerKeys = advertised[peer], let peerPoint = graph.point(of: peer) else { continue }
                    let seed = try KeyDerivation.pairwiseSeed(
                        privateKey: privateKey,
                        peerPublicKey: peerKeys.maskPublicKey,
                        roundId: roundId,
                        ownId: owner,
                        peerId: peer
                    )
                    // The survivor added the mask if its point is the lower one, else subtracted it.
                    try MaskExpander.apply(key: seed, to: &unmasked, subtracting: peerPoint < ownerPoint)
                }
            }
        } catch {
            let owner = inputs.union(keyTargets).sorted().first {
                !rebuiltSeedOwners.contains($0) && !rebuiltKeyOwners.contains($0)
            }
            return fail(.reconstructionFailed(owner: owner ?? ""))
        }
        stage = .completed
        return [
            .complete(
                SecAggResult(sum: unmasked, survivors: inputs.sorted(), droppedAfterSharing: keyTargets.sorted())
            )
        ]
    }

    /// The privacy invariant the whole protocol rests on, checked in tests after every event:
    /// no device's self-mask seed and mask key are both rebuilt, masked inputs come only from
    /// devices that received forwarded shares, and requests never name one id twice.
    package func _checkInvariants() -> [String] {
        var problems: [String] = []
        if let both = rebuiltSeedOwners.intersection(rebuiltKeyOwners).sorted().first {
            problems.append("both secrets rebuilt for \(both)")
        }
        if !inputs.isSubset(of: forwardedTo) { problems.append("input from a device without forwarded shares") }
        for (id, request) in requests where !Set(request.survivors).isDisjoint(with: request.dropped) {
            problems.append("request to \(id) names one id as survivor and dropped")
        }
        return problems
    }
}
