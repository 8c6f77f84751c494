public import Wire

// Conversions between the protocol's values and the `secagg.*` message bodies. Every
// conversion from the wire returns nil on anything the body's `validate()` let through but the
// protocol cannot use (a non-canonical share, a float that is not an integer below 2^b), so a
// shell maps nil to one `malformedHeader` rejection.

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        for index in stride(from: 0, to: utf8.count, by: 2) {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}

extension AdvertisedKeys {
    public var wire: SecAggKeysField {
        SecAggKeysField(
            cipherPublicKey: Hex.encode(cipherPublicKey),
            maskPublicKey: Hex.encode(maskPublicKey),
            seedCommitment: Hex.encode(seedCommitment),
            signature: signature.isEmpty ? nil : Hex.encode(signature)
        )
    }

    public init?(wire: SecAggKeysField) {
        guard let cipher = Hex.decode(wire.cipherPublicKey), let mask = Hex.decode(wire.maskPublicKey),
            let commitment = Hex.decode(wire.seedCommitment)
        else { return nil }
        let signature = wire.signature.map { Hex.decode($0) } ?? []
        guard let signature else { return nil }
        self.init(cipherPublicKey: cipher, maskPublicKey: mask, seedCommitment: commitment, signature: signature)
        guard isWellFormed else { return nil }
    }
}

extension NeighbourAnnouncement {
    /// Nil when a point does not fit the wire's 1…2^31 (a cohort that large is refused earlier).
    public func wire(roundId: Int, shard: Int, recipient: String) -> SecAggNeighbours? {
        guard ownPoint <= 1 << 31, neighbours.allSatisfy({ $0.point <= 1 << 31 }) else { return nil }
        return SecAggNeighbours(
            roundId: roundId,
            shard: shard,
            recipient: recipient,
            ownPoint: Int(ownPoint),
            neighbours: neighbours.map { SecAggNeighbourField(id: $0.id, point: Int($0.point), keys: $0.keys.wire) }
        )
    }

    /// The protocol's round id is the wire's, as a decimal string.
    public init?(wire: SecAggNeighbours) {
        var neighbours: [AnnouncedNeighbour] = []
        for field in wire.neighbours {
            guard let keys = AdvertisedKeys(wire: field.keys), field.point >= 1 else { return nil }
            neighbours.append(AnnouncedNeighbour(id: field.id, point: UInt64(field.point), keys: keys))
        }
        guard wire.ownPoint >= 1 else { return nil }
        self.init(roundId: String(wire.roundId), ownPoint: UInt64(wire.ownPoint), neighbours: neighbours)
    }
}

extension EncryptedShare {
    public var wire: SecAggShareField {
        SecAggShareField(sender: sender, recipient: recipient, ciphertext: Hex.encode(ciphertext))
    }

    public init?(wire: SecAggShareField) {
        guard let bytes = Hex.decode(wire.ciphertext), bytes.count == Self.ciphertextByteCount else { return nil }
        self.init(sender: wire.sender, recipient: wire.recipient, ciphertext: bytes)
    }
}

extension ModularVector {
    /// The masked vector as a `ubits` tensor, packed at `bits` bits per value.
    public func tensor(named name: String = "masked") -> Tensor? {
        guard bits <= SecAggWireLimits.maxModulusBits else { return nil }
        return Tensor.encoded(name: name, encoding: .packedBits, bytes: packed, elementCount: values.count)
    }

    /// Nil unless the tensor has `count` elements, each an integer in 0..<2^bits: `ubits` at
    /// exactly `bits` bits (no padding bit set), or, as earlier builds sent it, `f32le` (b ≤ 24).
    public init?(tensor: Tensor, bits: Int, count: Int) {
        guard bits >= 1, bits <= SecAggWireLimits.maxModulusBits, tensor.elementCount == count else { return nil }
        if tensor.encoding == .packedBits {
            self.init(packed: tensor.bytes, bits: bits, count: count)
            return
        }
        guard tensor.encoding == .f32le, bits <= 24 else { return nil }
        let limit = Float(1 << bits)
        var values: [UInt64] = []
        values.reserveCapacity(count)
        for value in tensor.floats() {
            guard value >= 0, value < limit, value.rounded(.towardZero) == value else { return nil }
            values.append(UInt64(value))
        }
        guard values.count == count else { return nil }
        self.init(bits: bits, values: values)
    }
}

extension UnmaskRequest {
    public func wire(roundId: Int, shard: Int, recipient: String) -> SecAggUnmaskRequest {
        SecAggUnmaskRequest(
            roundId: roundId,
            shard: shard,
            recipient: recipient,
            survivors: survivors,
            dropped: dropped
        )
    }

    public init(wire: SecAggUnmaskRequest) {
        self.init(survivors: wire.survivors, dropped: wire.dropped)
    }
}

extension UnmaskResponse {
    public func wire(roundId: Int, shard: Int) -> SecAggUnmaskResponse {
        func fields(_ shares: [String: ShamirShare]) -> [SecAggRevealedShareField] {
            shares.sorted { $0.key < $1.key }.map {
                SecAggRevealedShareField(owner: $0.key, share: Hex.encode($0.value.bytes))
            }
        }
        return SecAggUnmaskResponse(
            roundId: roundId,
            shard: shard,
            selfMaskSeedShares: fields(selfMaskSeedShares),
            maskKeyShares: fields(maskKeyShares)
        )
    }

    public init?(wire: SecAggUnmaskResponse) {
        func shares(_ fields: [SecAggRevealedShareField]) -> [String: ShamirShare]? {
            var result: [String: ShamirShare] = [:]
            for field in fields {
                guard let bytes = Hex.decode(field.share), let share = ShamirShare(bytes: bytes),
                    result.updateValue(share, forKey: field.owner) == nil
                else { return nil }
            }
            return result
        }
        guard let seeds = shares(wire.selfMaskSeedShares), let keys = shares(wire.maskKeyShares) else { return nil }
        self.init(selfMaskSeedShares: seeds, maskKeyShares: keys)
    }
}
