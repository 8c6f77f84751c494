/// One neighbour as the shard announces it after the key stage.
public struct AnnouncedNeighbour: Sendable, Hashable {
    public let id: String
    /// The neighbour's Shamir evaluation point (its ring position + 1).
    public let point: UInt64
    public let keys: AdvertisedKeys

    public init(id: String, point: UInt64, keys: AdvertisedKeys) {
        self.id = id
        self.point = point
        self.keys = keys
    }
}

/// Stage 1 → 2, shard to one device: who its live neighbours are and their keys.
public struct NeighbourAnnouncement: Sendable, Hashable {
    public let roundId: String
    public let ownPoint: UInt64
    public let neighbours: [AnnouncedNeighbour]

    public init(roundId: String, ownPoint: UInt64, neighbours: [AnnouncedNeighbour]) {
        self.roundId = roundId
        self.ownPoint = ownPoint
        self.neighbours = neighbours
    }
}

/// Stage 3 → 4, shard to one surviving device: which of its neighbours' masked inputs are in
/// the sum (answer with their self-mask-seed shares) and which sent shares but no input (answer
/// with their mask-key shares). Never both for one id: that would unmask that id's vector.
public struct UnmaskRequest: Sendable, Hashable {
    public let survivors: [String]
    public let dropped: [String]

    public init(survivors: [String], dropped: [String]) {
        self.survivors = survivors
        self.dropped = dropped
    }
}

/// Stage 4, device to shard: the shares the request asked for, keyed by whose secret they are.
public struct UnmaskResponse: Sendable, Hashable {
    public let selfMaskSeedShares: [String: ShamirShare]
    public let maskKeyShares: [String: ShamirShare]

    public init(selfMaskSeedShares: [String: ShamirShare], maskKeyShares: [String: ShamirShare]) {
        self.selfMaskSeedShares = selfMaskSeedShares
        self.maskKeyShares = maskKeyShares
    }
}

/// The protocol's stages, in order; each side refuses a message meant for another stage.
public enum SecAggStage: String, Sendable, Hashable, CaseIterable {
    case advertiseKeys
    case shareKeys
    case maskedInput
    case unmasking
    case completed
    case failed
}
