// The SecAgg+ stages between a shard and the devices of its cohort (issue 10), all over the
// shard's ROUTER and each device's DEALER (never a broadcast). The header carries ids, points
// and counts; keys, sealed shares and revealed shares travel as fixed-size binary records in
// frames the header describes (`SecAggRecords`), so no hex is parsed on the hot path.

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
/// 2 → 3 (shard → device: the shares sealed for `holder`, one from each peer). Frame
/// `ciphertexts`: one `SecAggRecords.ciphertext` record per peer, in `peers` order.
///
/// One holder and a list of peers rather than (sender, recipient) objects: every share of one
/// message has the same sender or the same recipient, and the list is what every device parses.
public struct SecAggShares: MessageBody {
    public static let topic = Topic.secAggShares

    public var roundId: Int
    public var shard: Int
    /// The device at the fixed end of every share.
    public var holder: String
    /// True: `holder` sealed each share for a peer; false: each peer sealed one for `holder`.
    public var sealedByHolder: Bool
    /// At most `SecAggWireLimits.maxDegree`, unique.
    public var peers: [String]

    public init(roundId: Int, shard: Int, holder: String, sealedByHolder: Bool, peers: [String]) {
        self.roundId = roundId
        self.shard = shard
        self.holder = holder
        self.sealedByHolder = sealedByHolder
        self.peers = peers
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.id("holder", holder)
        try check.bounded("peers", count: peers.count)
        try check.ids("peers", peers)
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

/// `secagg.unmask.request` (shard → one surviving device): stage 3 → 4.
public struct SecAggUnmaskRequest: MessageBody {
    public static let topic = Topic.secAggUnmaskRequest

    public var roundId: Int
    public var shard: Int
    public var recipient: String
    /// Neighbours whose inputs are in the sum: reveal their self-mask-seed shares.
    public var survivors: [String]
    /// Neighbours that shared keys but sent no input: reveal their mask-key shares.
    public var dropped: [String]

    public init(roundId: Int, shard: Int, recipient: String, survivors: [String], dropped: [String]) {
        self.roundId = roundId
        self.shard = shard
        self.recipient = recipient
        self.survivors = survivors
        self.dropped = dropped
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.id("recipient", recipient)
        try check.bounded("survivors", count: survivors.count)
        try check.bounded("dropped", count: dropped.count)
        // Duplicates across the two lists are the malicious-shard case: the device refuses
        // those itself (SecAggClient), so the codec lets them through to be refused there.
        try check.ids("survivors", survivors)
        try check.ids("dropped", dropped)
    }
}

/// `secagg.unmask.response` (device → shard ROUTER): stage 4. Frame `shares`: one
/// `SecAggRecords.share` record per owner, those of `selfMaskSeedOwners` first, then those of
/// `maskKeyOwners`, each in list order.
public struct SecAggUnmaskResponse: MessageBody {
    public static let topic = Topic.secAggUnmaskResponse

    public var roundId: Int
    public var shard: Int
    /// Whose self-mask seed each of the first records is a share of.
    public var selfMaskSeedOwners: [String]
    /// Whose mask key each of the remaining records is a share of.
    public var maskKeyOwners: [String]

    public init(roundId: Int, shard: Int, selfMaskSeedOwners: [String], maskKeyOwners: [String]) {
        self.roundId = roundId
        self.shard = shard
        self.selfMaskSeedOwners = selfMaskSeedOwners
        self.maskKeyOwners = maskKeyOwners
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        for (key, list) in [("selfMaskSeedOwners", selfMaskSeedOwners), ("maskKeyOwners", maskKeyOwners)] {
            try check.bounded(key, count: list.count)
            try check.ids(key, list)
        }
    }
}
