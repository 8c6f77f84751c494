// The SecAgg+ stages between a shard and the devices of its cohort (issue 10), all over the
// shard's ROUTER and each device's DEALER (never a broadcast). Every byte field is lowercase
// hex of a fixed length, so a schema alone bounds each message.

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

/// Sizes of the hex fields, fixed by the protocol (checked against `SecureAggregation`'s byte
/// counts by its tests).
public enum SecAggWireLimits {
    /// An X25519 public key or a SHA-256 commitment: 32 bytes.
    public static let keyHexLength = 64
    /// An Ed25519 signature: 64 bytes.
    public static let signatureHexLength = 128
    /// A ChaChaPoly box of two shares: 12 + 2 × 72 + 16 bytes.
    public static let ciphertextHexLength = 344
    /// One Shamir share: 8-byte point and eight 8-byte limbs.
    public static let shareHexLength = 144
    /// Most neighbours (and so most shares or ids) in one message.
    public static let maxDegree = 1024
    /// Largest modulus (the protocol sums mod 2^b in 64-bit words and signs the top value).
    public static let maxModulusBits = 62

    static func isHex(_ value: String, length: Int) -> Bool {
        let utf8 = value.utf8
        return utf8.count == length && utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

extension FieldCheck {
    func hex(_ key: String, _ value: String, length: Int) throws(WireError) {
        try require(SecAggWireLimits.isHex(value, length: length), key, "is not \(length) lowercase hex digits")
    }

    func secAggRound(roundId: Int, shard: Int) throws(WireError) {
        try atLeast("roundId", roundId, 1)
        try atLeast("shard", shard, 0)
    }

    func bounded(_ key: String, count: Int) throws(WireError) {
        try require(count <= SecAggWireLimits.maxDegree, key, "\(count) entries exceed \(SecAggWireLimits.maxDegree)")
    }
}

/// A device's advertised keys as they travel (inside `secagg.keys` and `secagg.neighbours`).
public struct SecAggKeysField: Codable, Sendable, Equatable {
    public var cipherPublicKey: String
    public var maskPublicKey: String
    public var seedCommitment: String
    /// Empty when the round runs without enrolled signing keys.
    public var signature: String?

    public init(cipherPublicKey: String, maskPublicKey: String, seedCommitment: String, signature: String? = nil) {
        self.cipherPublicKey = cipherPublicKey
        self.maskPublicKey = maskPublicKey
        self.seedCommitment = seedCommitment
        self.signature = signature
    }

    func validate(_ check: FieldCheck) throws(WireError) {
        try check.hex("cipherPublicKey", cipherPublicKey, length: SecAggWireLimits.keyHexLength)
        try check.hex("maskPublicKey", maskPublicKey, length: SecAggWireLimits.keyHexLength)
        try check.hex("seedCommitment", seedCommitment, length: SecAggWireLimits.keyHexLength)
        if let signature { try check.hex("signature", signature, length: SecAggWireLimits.signatureHexLength) }
    }
}

/// `secagg.keys` (device → shard ROUTER): stage 1.
public struct SecAggKeys: MessageBody {
    public static let topic = Topic.secAggKeys

    /// ≥ 1.
    public var roundId: Int
    /// ≥ 0.
    public var shard: Int
    public var keys: SecAggKeysField

    public init(roundId: Int, shard: Int, keys: SecAggKeysField) {
        self.roundId = roundId
        self.shard = shard
        self.keys = keys
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try keys.validate(check.nested("keys"))
    }
}

/// One neighbour in `secagg.neighbours`.
public struct SecAggNeighbourField: Codable, Sendable, Equatable {
    public var id: String
    /// Shamir evaluation point, 1…2^31.
    public var point: Int
    public var keys: SecAggKeysField

    public init(id: String, point: Int, keys: SecAggKeysField) {
        self.id = id
        self.point = point
        self.keys = keys
    }
}

/// `secagg.neighbours` (shard → one device): stage 1 → 2.
public struct SecAggNeighbours: MessageBody {
    public static let topic = Topic.secAggNeighbours

    public var roundId: Int
    public var shard: Int
    /// The device this announcement is for.
    public var recipient: String
    /// The recipient's own Shamir point, 1…2^31.
    public var ownPoint: Int
    /// At most `SecAggWireLimits.maxDegree`, unique ids and points.
    public var neighbours: [SecAggNeighbourField]

    public init(roundId: Int, shard: Int, recipient: String, ownPoint: Int, neighbours: [SecAggNeighbourField]) {
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
        try check.ids("neighbours.id", neighbours.map(\.id))
        for (index, neighbour) in neighbours.enumerated() {
            let item = check.nested("neighbours[\(index)]")
            try item.range("point", neighbour.point, 1...(1 << 31))
            try neighbour.keys.validate(item.nested("keys"))
        }
        let points = neighbours.map(\.point) + [ownPoint]
        try check.require(Set(points).count == points.count, "neighbours.point", "contains duplicates")
    }
}

/// One sealed share pair in `secagg.shares`.
public struct SecAggShareField: Codable, Sendable, Equatable {
    public var sender: String
    public var recipient: String
    public var ciphertext: String

    public init(sender: String, recipient: String, ciphertext: String) {
        self.sender = sender
        self.recipient = recipient
        self.ciphertext = ciphertext
    }
}

/// `secagg.shares`: stage 2 (device → shard, every entry from the sender) and 2 → 3 (shard →
/// device, every entry to the recipient).
public struct SecAggShares: MessageBody {
    public static let topic = Topic.secAggShares

    public var roundId: Int
    public var shard: Int
    /// At most `SecAggWireLimits.maxDegree`; each (sender, recipient) pair once.
    public var shares: [SecAggShareField]

    public init(roundId: Int, shard: Int, shares: [SecAggShareField]) {
        self.roundId = roundId
        self.shard = shard
        self.shares = shares
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        try check.bounded("shares", count: shares.count)
        for (index, share) in shares.enumerated() {
            let item = check.nested("shares[\(index)]")
            try item.id("sender", share.sender)
            try item.id("recipient", share.recipient)
            try item.hex("ciphertext", share.ciphertext, length: SecAggWireLimits.ciphertextHexLength)
        }
        let pairs = shares.map { "\($0.sender) \($0.recipient)" }
        try check.require(Set(pairs).count == pairs.count, "shares", "repeats a sender and recipient pair")
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

/// One revealed share in `secagg.unmask.response`.
public struct SecAggRevealedShareField: Codable, Sendable, Equatable {
    /// Whose secret this is a share of.
    public var owner: String
    public var share: String

    public init(owner: String, share: String) {
        self.owner = owner
        self.share = share
    }
}

/// `secagg.unmask.response` (device → shard ROUTER): stage 4.
public struct SecAggUnmaskResponse: MessageBody {
    public static let topic = Topic.secAggUnmaskResponse

    public var roundId: Int
    public var shard: Int
    public var selfMaskSeedShares: [SecAggRevealedShareField]
    public var maskKeyShares: [SecAggRevealedShareField]

    public init(
        roundId: Int,
        shard: Int,
        selfMaskSeedShares: [SecAggRevealedShareField],
        maskKeyShares: [SecAggRevealedShareField]
    ) {
        self.roundId = roundId
        self.shard = shard
        self.selfMaskSeedShares = selfMaskSeedShares
        self.maskKeyShares = maskKeyShares
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.secAggRound(roundId: roundId, shard: shard)
        for (key, list) in [("selfMaskSeedShares", selfMaskSeedShares), ("maskKeyShares", maskKeyShares)] {
            try check.bounded(key, count: list.count)
            try check.ids("\(key).owner", list.map(\.owner))
            for (index, item) in list.enumerated() {
                try check.nested("\(key)[\(index)]").hex("share", item.share, length: SecAggWireLimits.shareHexLength)
            }
        }
    }
}
