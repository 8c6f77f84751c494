internal import Crypto

/// Why an honest device refused a shard's message (and, except for a wrong stage, aborted).
public enum SecAggClientError: Error, Hashable, Sendable {
    /// The message belongs to another stage; a replayed request lands here too.
    case wrongStage(expected: SecAggStage, actual: SecAggStage)
    /// The announcement is for another round, repeats an id or point, names the device itself,
    /// or carries a malformed key.
    case malformedAnnouncement(String)
    /// Fewer neighbours than the threshold: secrets shared with them could not be rebuilt, and
    /// masks against fewer than t neighbours protect less than the parameters promise.
    case tooFewNeighbours(have: Int, need: Int)
    /// A forwarded share is not addressed to this device, comes from a non-neighbour, repeats,
    /// or fails AEAD authentication.
    case badShare(from: String)
    /// The input's modulus or length differs from the round's configuration.
    case inputMismatch
    /// The shard asked for both secrets of one device: with its self-mask seed and its mask
    /// key the shard could strip every mask from that device's input.
    case survivorAlsoDropped(String)
    /// The request names an id this device holds no share for.
    case unknownNeighbour(String)
    /// A neighbour's keys carry no valid signature by its enrolled key: the shard may have
    /// substituted its own keys to read the shares meant for that neighbour.
    case unverifiedKeys(String)
    /// Key agreement failed (a neighbour's key is a low-order point).
    case keyFailure
}

/// One device's side of SecAgg+ for one round: advertise keys → share keys → masked input →
/// unmasking. A value type; each event returns what to send, or throws why it will not.
///
/// After a protocol refusal other than `wrongStage` the device is `.failed` and answers
/// nothing more: an honest device stops rather than guess which of two stories is true.
public struct SecAggClient: Sendable {
    public let id: String
    public let roundId: String
    public let configuration: SecAggConfiguration
    public private(set) var stage: SecAggStage = .advertiseKeys

    private let keys: SecAggKeyPairs
    private let selfMaskSeed: [UInt8]
    private let advertisement: AdvertisedKeys
    /// Enrolled Ed25519 keys by device id; when set, every neighbour's keys must be signed.
    private let enrolledKeys: [String: [UInt8]]?
    private var ownPoint: UInt64 = 0
    private var neighbours: [String: AnnouncedNeighbour] = [:]
    /// Shares this device keeps for its neighbours, opened in the masked-input stage.
    private var held: [String: SharePair] = [:]
    /// Per neighbour, the key and associated data its shares to this device open with: derived
    /// in stage 2 beside the sealing key from the same extracted agreement, used once in stage 3.
    private var openers: [String: ShareOpener] = [:]
    /// The c key and its X25519 outputs by peer key: stage 2 seals with them and stage 3 opens
    /// with the same ones (HKDF with the other direction's info: one X25519 per pair, not two),
    /// and the shell may carry it into the next round (`SecAggCipherKey` says why that is safe).
    public private(set) var cipherKey: SecAggCipherKey

    /// `signingKey` signs this device's advertised keys; `enrolledKeys` (the enrolment
    /// directory's Ed25519 keys) makes the device refuse neighbours whose keys are unsigned.
    /// `cipherKey` is this device's c key from an earlier round (nil: draw a new one); the mask
    /// pair and the self-mask seed are always drawn fresh.
    public init(
        id: String,
        roundId: String,
        configuration: SecAggConfiguration,
        signingKey: SecAggSigningKey? = nil,
        enrolledKeys: [String: [UInt8]]? = nil,
        cipherKey: SecAggCipherKey? = nil,
        using generator: inout some RandomNumberGenerator
    ) throws(SecAggKeyError) {
        self.id = id
        self.roundId = roundId
        self.configuration = configuration
        let keys: SecAggKeyPairs
        if let cipherKey {
            keys = try SecAggKeyPairs(cipher: cipherKey.privateKey, using: &generator)
            self.cipherKey = cipherKey
        } else {
            keys = try SecAggKeyPairs(using: &generator)
            self.cipherKey = SecAggCipherKey(privateKey: keys.cipher)
        }
        self.keys = keys
        self.selfMaskSeed = generator.bytes(ShamirSharing.secretByteCount)
        self.enrolledKeys = enrolledKeys
        let plain = AdvertisedKeys(
            cipherPublicKey: keys.cipherPublicKey,
            maskPublicKey: keys.maskPublicKey,
            seedCommitment: AdvertisedKeys.commitment(toSeed: selfMaskSeed, roundId: roundId, deviceId: id)
        )
        if let signingKey {
            let bytes = AdvertisedKeys.signingDomain(roundId: roundId, deviceId: id) + plain.signedBytes
            advertisement = AdvertisedKeys(
                cipherPublicKey: plain.cipherPublicKey,
                maskPublicKey: plain.maskPublicKey,
                seedCommitment: plain.seedCommitment,
                signature: try signingKey.sign(bytes)
            )
        } else {
            advertisement = plain
        }
    }

    /// Stage 1: the public keys to send (again, if asked: advertising is idempotent).
    public func advertisedKeys() -> AdvertisedKeys { advertisement }

    /// Stage 1 → 2: checks the announcement and seals shares of both secrets to each neighbour.
    public mutating func neighboursAnnounced(
        _ announcement: NeighbourAnnouncement,
        using generator: inout some RandomNumberGenerator
    ) throws(SecAggClientError) -> [EncryptedShare] {
        try expect(.advertiseKeys)
        do {
            try validate(announcement)
        } catch {
            stage = .failed
            throw error
        }
        ownPoint = announcement.ownPoint
        neighbours = Dictionary(announcement.neighbours.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let ordered = announcement.neighbours
        let points = ordered.map(\.point)
        do throws(any Error) {
            let seedShares = try ShamirSharing.split(
                selfMaskSeed,
                threshold: configuration.threshold,
                points: points,
                using: &generator
            )
            let keyShares = try ShamirSharing.split(
                keys.maskPrivateBytes,
                threshold: configuration.threshold,
                points: points,
                using: &generator
            )
            var sealed: [EncryptedShare] = []
            sealed.reserveCapacity(ordered.count)
            openers.reserveCapacity(ordered.count)
            for (index, neighbour) in ordered.enumerated() {
                let extracted = try cipherKey.extractedAgreement(with: neighbour.keys.cipherPublicKey)
                // One info per direction, the HKDF info and the AEAD's associated data alike.
                let outgoing = KeyDerivation.info(.shareCipher, roundId: roundId, ids: [id, neighbour.id])
                let incoming = KeyDerivation.info(.shareCipher, roundId: roundId, ids: [neighbour.id, id])
                openers[neighbour.id] = ShareOpener(
                    key: KeyDerivation.key(fromExtracted: extracted, info: incoming),
                    associatedData: incoming
                )
                sealed.append(
                    try ShareCipher.seal(
                        SharePair(selfMaskSeed: seedShares[index], maskKey: keyShares[index]),
                        key: KeyDerivation.key(fromExtracted: extracted, info: outgoing),
                        associatedData: outgoing,
                        sender: id,
                        recipient: neighbour.id,
                        using: &generator
                    )
                )
            }
            stage = .shareKeys
            return sealed
        } catch {
            stage = .failed
            throw .keyFailure
        }
    }

    /// Stage 2 → 3: opens the neighbours' shares and masks `input` against exactly those
    /// neighbours (the shard subtracts or rebuilds the same set later).
    public mutating func sharesForwarded(
        _ shares: [EncryptedShare],
        input: ModularVector
    ) throws(SecAggClientError) -> ModularVector {
        try expect(.shareKeys)
        guard input.bits == configuration.modulusBits, input.values.count == configuration.vectorLength else {
            throw .inputMismatch
        }
        do throws(any Error) {
            held = try open(shares)
            guard held.count >= configuration.threshold else {
                throw SecAggClientError.tooFewNeighbours(have: held.count, need: configuration.threshold)
            }
            var masked = input
            let selfKey = KeyDerivation.selfMaskKey(seed: selfMaskSeed, roundId: roundId, deviceId: id)
            try MaskExpander.apply(key: selfKey, to: &masked, subtracting: false)
            for peerId in held.keys.sorted() {
                guard let peer = neighbours[peerId] else { throw SecAggClientError.badShare(from: peerId) }
                let seed = try KeyDerivation.pairwiseSeed(
                    privateKey: keys.mask,
                    peerPublicKey: peer.keys.maskPublicKey,
                    roundId: roundId,
                    ownId: id,
                    peerId: peerId
                )
                try MaskExpander.apply(key: seed, to: &masked, subtracting: ownPoint > peer.point)
            }
            stage = .maskedInput
            return masked
        } catch let error as SecAggClientError {
            stage = .failed
            throw error
        } catch {
            stage = .failed
            throw .keyFailure
        }
    }

    /// Stage 3 → 4: answers one unmask request, once, refusing one that names a device as
    /// both survivor and dropped or names an id this device holds nothing for.
    public mutating func unmaskRequested(_ request: UnmaskRequest) throws(SecAggClientError) -> UnmaskResponse {
        try expect(.maskedInput)
        let survivors = Set(request.survivors)
        let dropped = Set(request.dropped)
        if let both = survivors.intersection(dropped).sorted().first {
            stage = .failed
            throw .survivorAlsoDropped(both)
        }
        if let unknown = survivors.union(dropped).subtracting(held.keys).sorted().first {
            stage = .failed
            throw .unknownNeighbour(unknown)
        }
        guard survivors.count >= configuration.threshold else {
            stage = .failed
            throw .tooFewNeighbours(have: survivors.count, need: configuration.threshold)
        }
        var seedShares: [String: ShamirShare] = [:]
        var keyShares: [String: ShamirShare] = [:]
        for (owner, pair) in held {
            if survivors.contains(owner) { seedShares[owner] = pair.selfMaskSeed }
            if dropped.contains(owner) { keyShares[owner] = pair.maskKey }
        }
        stage = .completed
        return UnmaskResponse(selfMaskSeedShares: seedShares, maskKeyShares: keyShares)
    }

    private func expect(_ expected: SecAggStage) throws(SecAggClientError) {
        guard stage == expected else { throw .wrongStage(expected: expected, actual: stage) }
    }

    private func validate(_ announcement: NeighbourAnnouncement) throws(SecAggClientError) {
        guard announcement.roundId == roundId else { throw .malformedAnnouncement("round \(announcement.roundId)") }
        let ids = announcement.neighbours.map(\.id)
        let points = announcement.neighbours.map(\.point) + [announcement.ownPoint]
        guard Set(ids).count == ids.count, !ids.contains(id) else { throw .malformedAnnouncement("repeated id") }
        guard Set(points).count == points.count, points.allSatisfy({ $0 != 0 && $0 < PrimeField.modulus }) else {
            throw .malformedAnnouncement("repeated or invalid point")
        }
        guard announcement.neighbours.allSatisfy({ $0.keys.isWellFormed }) else {
            throw .malformedAnnouncement("key length")
        }
        guard ids.count <= configuration.degree else { throw .malformedAnnouncement("more neighbours than the degree") }
        if let enrolledKeys {
            for neighbour in announcement.neighbours {
                guard let enrolled = enrolledKeys[neighbour.id],
                    neighbour.keys.isSigned(by: enrolled, roundId: roundId, deviceId: neighbour.id)
                else { throw .unverifiedKeys(neighbour.id) }
            }
        }
        guard ids.count >= configuration.threshold else {
            throw .tooFewNeighbours(have: ids.count, need: configuration.threshold)
        }
    }

    private mutating func open(_ shares: [EncryptedShare]) throws(SecAggClientError) -> [String: SharePair] {
        var opened: [String: SharePair] = [:]
        opened.reserveCapacity(shares.count)
        for share in shares {
            guard share.recipient == id, let opener = openers[share.sender], opened[share.sender] == nil,
                let pair = ShareCipher.open(share, key: opener.key, associatedData: opener.associatedData),
                pair.selfMaskSeed.x == ownPoint, pair.maskKey.x == ownPoint
            else { throw .badShare(from: share.sender) }
            opened[share.sender] = pair
        }
        openers = [:]
        return opened
    }
}

/// How one neighbour's sealed shares to this device open: the key HKDF gives for the
/// (neighbour → device) direction and the same `info` bytes as associated data.
private struct ShareOpener {
    let key: SymmetricKey
    let associatedData: [UInt8]
}
