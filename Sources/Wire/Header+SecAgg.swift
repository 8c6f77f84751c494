// The SecAgg+ stages between a shard and the devices of its cohort (issue 10), all over the
// shard's ROUTER and each device's DEALER (never a broadcast). The header carries counts and,
// once per round (`secagg.neighbours`), the neighbours' ids; keys, sealed shares, revealed shares
// and the Shamir points that name devices in every later stage travel as fixed-size binary
// records in frames the header counts (`SecAggRecords`), so neither hex nor id lists are parsed
// on the hot path.

extension Topic {
    /// Device → shard ROUTER: the device's two X25519 public keys, seed commitment, signature.
    public static let secAggKeys = Topic(rawValue: "secagg.keys")
    /// Shard → one device: its live neighbours and their keys.
    public static let secAggNeighbours = Topic(rawValue: "secagg.neighbours")
    /// Device → shard (its sealed shares, one per neighbour) and shard → device (the sealed
    /// shares addressed to it).
    public static let secAggShares = Topic(rawValue: "secagg.shares")
    /// Device → shard ROUTER: the masked input, one `f32le` tensor of integers below 2^modulusBits.
    public static let secAggMasked = Topic(rawValue: "secagg.masked")
    /// Shard → one surviving device: whose self-mask seeds and whose mask keys to reveal.
    public static let secAggUnmaskRequest = Topic(rawValue: "secagg.unmask.request")
    /// Device → shard ROUTER: the shares the request asked for.
    public static let secAggUnmaskResponse = Topic(rawValue: "secagg.unmask.response")

    /// The SecAgg+ topics, in stage order (none is a prefix of another, nor of a known topic).
    public static let secAgg: [Topic] = [
        .secAggKeys, .secAggNeighbours, .secAggShares, .secAggMasked, .secAggUnmaskRequest, .secAggUnmaskResponse,
    ]
}

/// Sizes and bounds fixed by the protocol (checked against `SecureAggregation`'s byte counts by
/// its tests).
public enum SecAggWireLimits {
    /// Most neighbours (and so most shares or ids) in one message.
    public static let maxDegree = 1024
    /// Largest modulus (the protocol sums mod 2^b in 64-bit words and signs the top value).
    public static let maxModulusBits = 62
}

extension FieldCheck {
    func secAggRound(roundId: Int, shard: Int) throws(WireError) {
        try atLeast("roundId", roundId, 1)
        try atLeast("shard", shard, 0)
    }

    func bounded(_ key: String, count: Int) throws(WireError) {
        try require(count <= SecAggWireLimits.maxDegree, key, "\(count) entries exceed \(SecAggWireLimits.maxDegree)")
    }
}

/// `secagg.keys` (device → shard ROUTER): stage 1. Frames: `keys`, one `SecAggRecords.keys`
/// record; `signatures`, one `SecAggRecords.signature` record, only when the keys are signed.
public struct SecAggKeys: MessageBody {
    public static let topic = Topic.secAggKeys

    /// ≥ 1.
    public var roundId: Int
    /// ≥ 0.
    public var shard: Int

    public init(roundId: Int, shard: Int) {
        self.roundId = roundId
        self.shard = shard
    }

    public func validate() throws(WireError) {
        try FieldCheck().secAggRound(roundId: roundId, shard: shard)
    }
}

/// `secagg.neighbours` (shard → one device): stage 1 → 2. Frames, one record per neighbour in
/// `neighbours` order: `points`, its Shamir point (`SecAggRecords.point`, little-endian
/// 1…2^31, unique, none equal to `ownPoint`); `keys`, one `SecAggRecords.keys` record;
/// `signatures`, one `SecAggRecords.signature` record, only when the round's keys are signed.
///
/// Ids as a plain list and points in a frame rather than k `{id, point}` objects: every device
/// parses one of these per round, and an object costs the decoder far more than a string.
public struct SecAggNeighbours: MessageBody {
    public static let topic = Topic.secAggNeighbours

    public var roundId: Int
    public var shard: Int
    /// The device this announcement is for.
    public var recipient: String
    /// The recipient's own Shamir point, 1…2^31.
    public var ownPoint: Int
    /// The neighbours' ids: at most `SecAggWireLimits.maxDegree`, unique.
    public var neighbours: [String]

    public init(roundId: Int, shard: Int, recipient: String, ownPoint: Int, neighbours: [String]) {
        self.roundId = roundId
        self.shard = shard
        self.recipient = recipient
        self.ownPoint = ownPoint
        self.neighbours = neighbours
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.id("recipient", recipient)
        try check.range("ownPoint", ownPoint, 1...(1 << 31))
        try check.bounded("neighbours", count: neighbours.count)
        try check.ids("neighbours", neighbours)
    }
}

/// `secagg.shares`: stage 2 (device → shard: the shares `holder` sealed, one per peer) and
/// 2 → 3 (shard → device: the shares sealed for `holder`, one from each peer). Frames, one
/// record per peer, in the same order: `points`, the peer's Shamir point (`SecAggRecords.point`);
/// `ciphertexts`, one `SecAggRecords.ciphertext` record.
///
/// Peers by point, not id: both ends already know every neighbour's point (the shard from its
/// graph, the device from `secagg.neighbours`), and k ids in a header cost the decoder, the
/// unknown-key check and the id check far more than k four-byte records; each device sends one
/// of these and receives one every round.
public struct SecAggShares: MessageBody {
    public static let topic = Topic.secAggShares

    public var roundId: Int
    public var shard: Int
    /// The device at the fixed end of every share.
    public var holder: String
    /// True: `holder` sealed each share for a peer; false: each peer sealed one for `holder`.
    public var sealedByHolder: Bool
    /// Records in each frame: 0…`SecAggWireLimits.maxDegree`.
    public var peerCount: Int

    public init(roundId: Int, shard: Int, holder: String, sealedByHolder: Bool, peerCount: Int) {
        self.roundId = roundId
        self.shard = shard
        self.holder = holder
        self.sealedByHolder = sealedByHolder
        self.peerCount = peerCount
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.id("holder", holder)
        try check.range("peerCount", peerCount, 0...SecAggWireLimits.maxDegree)
    }
}

/// `secagg.masked` (device → shard ROUTER): stage 3. Tensor `masked`: `ubits`, one element per
/// vector entry, each an integer in 0..<2^modulusBits packed at modulusBits bits; the receiver
/// refuses another byte count or a set padding bit.
public struct SecAggMasked: MessageBody {
    public static let topic = Topic.secAggMasked

    public var roundId: Int
    public var shard: Int
    /// 1…62.
    public var modulusBits: Int

    public init(roundId: Int, shard: Int, modulusBits: Int) {
        self.roundId = roundId
        self.shard = shard
        self.modulusBits = modulusBits
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.range("modulusBits", modulusBits, 1...SecAggWireLimits.maxModulusBits)
    }
}

/// `secagg.unmask.request` (shard → one surviving device): stage 3 → 4. Frame `points`: one
/// `SecAggRecords.point` per neighbour named, the `survivorCount` survivors first, then the
/// `droppedCount` dropped ones.
public struct SecAggUnmaskRequest: MessageBody {
    public static let topic = Topic.secAggUnmaskRequest

    public var roundId: Int
    public var shard: Int
    public var recipient: String
    /// Neighbours whose inputs are in the sum: reveal their self-mask-seed shares.
    public var survivorCount: Int
    /// Neighbours that shared keys but sent no input: reveal their mask-key shares.
    public var droppedCount: Int

    public init(roundId: Int, shard: Int, recipient: String, survivorCount: Int, droppedCount: Int) {
        self.roundId = roundId
        self.shard = shard
        self.recipient = recipient
        self.survivorCount = survivorCount
        self.droppedCount = droppedCount
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.id("recipient", recipient)
        // A point in both lists is the malicious-shard case: the device refuses that itself
        // (SecAggClient), so the codec lets it through to be refused there.
        try check.range("survivorCount", survivorCount, 0...SecAggWireLimits.maxDegree)
        try check.range("droppedCount", droppedCount, 0...SecAggWireLimits.maxDegree)
    }
}

/// `secagg.unmask.response` (device → shard ROUTER): stage 4. Frames, one record per owner, the
/// `selfMaskSeedOwners` first, then the `maskKeyOwners`: `points`, whose secret the share is of
/// (`SecAggRecords.point`); `shares`, one `SecAggRecords.share` record.
public struct SecAggUnmaskResponse: MessageBody {
    public static let topic = Topic.secAggUnmaskResponse

    public var roundId: Int
    public var shard: Int
    /// How many of the records are shares of survivors' self-mask seeds (they come first).
    public var selfMaskSeedOwners: Int
    /// How many of the records are shares of dropped devices' mask keys (they follow).
    public var maskKeyOwners: Int

    public init(roundId: Int, shard: Int, selfMaskSeedOwners: Int, maskKeyOwners: Int) {
        self.roundId = roundId
        self.shard = shard
        self.selfMaskSeedOwners = selfMaskSeedOwners
        self.maskKeyOwners = maskKeyOwners
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.range("selfMaskSeedOwners", selfMaskSeedOwners, 0...SecAggWireLimits.maxDegree)
        try check.range("maskKeyOwners", maskKeyOwners, 0...SecAggWireLimits.maxDegree)
    }
}
