public import Wire

// Conversions between the protocol's values and the `secagg.*` message bodies. Every
// conversion from the wire returns nil on anything the body's `validate()` let through but the
// protocol cannot use (a non-canonical share, a float that is not an integer below 2^b), so a
// shell maps nil to one `malformedHeader` rejection.

extension AdvertisedKeys {
    /// The 96-byte record of frame `keys`.
    var record: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(SecAggRecords.keys)
        out += cipherPublicKey
        out += maskPublicKey
        out += seedCommitment
        return out
    }

    /// Keys from one `keys` record and, if the round is signed, one `signatures` record.
    init?(record: ArraySlice<UInt8>, signature: ArraySlice<UInt8>?) {
        guard record.count == SecAggRecords.keys else { return nil }
        let start = record.startIndex
        self.init(
            cipherPublicKey: Array(record[start..<start + 32]),
            maskPublicKey: Array(record[start + 32..<start + 64]),
            seedCommitment: Array(record[start + 64..<start + 96]),
            signature: signature.map { Array($0) } ?? []
        )
        guard isWellFormed else { return nil }
    }

    public func wire(roundId: Int, shard: Int) -> SecAggFramed<SecAggKeys> {
        var tensors = [SecAggRecords.frame("keys", record)]
        if !signature.isEmpty { tensors.append(SecAggRecords.frame("signatures", signature)) }
        return SecAggFramed(body: SecAggKeys(roundId: roundId, shard: shard), tensors: tensors)
    }

    /// Nil unless the frames are exactly one key record and at most one signature record.
    public init?(wire message: Message<SecAggKeys>) {
        let tensors = message.tensors
        guard SecAggRecords.only(tensors, ["keys", "signatures"]),
            let keys = SecAggRecords.bytes(of: tensors, named: "keys", count: 1, size: SecAggRecords.keys)
        else { return nil }
        var signature: [UInt8]?
        if message.tensor(named: "signatures") != nil {
            signature = SecAggRecords.bytes(of: tensors, named: "signatures", count: 1, size: SecAggRecords.signature)
            guard signature != nil else { return nil }
        }
        self.init(record: keys[...], signature: signature?[...])
    }
}

extension NeighbourAnnouncement {
    /// Nil when a point does not fit the wire's 1…2^31 (a cohort that large is refused earlier).
    public func wire(roundId: Int, shard: Int, recipient: String) -> SecAggFramed<SecAggNeighbours>? {
        guard ownPoint <= 1 << 31, neighbours.allSatisfy({ $0.point <= 1 << 31 }) else { return nil }
        var keys: [UInt8] = []
        keys.reserveCapacity(neighbours.count * SecAggRecords.keys)
        var signatures: [UInt8] = []
        let signed = neighbours.contains { !$0.keys.signature.isEmpty }
        for neighbour in neighbours {
            keys += neighbour.keys.cipherPublicKey
            keys += neighbour.keys.maskPublicKey
            keys += neighbour.keys.seedCommitment
            if signed {
                // One record per neighbour or none: an unsigned key in a signed round is all zeros,
                // which no enrolled key verifies.
                let signature = neighbour.keys.signature
                signatures +=
                    signature.count == SecAggRecords.signature
                    ? signature : [UInt8](repeating: 0, count: SecAggRecords.signature)
            }
        }
        var points: [UInt8] = []
        points.reserveCapacity(neighbours.count * SecAggRecords.point)
        for neighbour in neighbours { points.appendLittleEndian(UInt32(truncatingIfNeeded: neighbour.point)) }
        var tensors = [SecAggRecords.frame("points", points), SecAggRecords.frame("keys", keys)]
        if signed { tensors.append(SecAggRecords.frame("signatures", signatures)) }
        let body = SecAggNeighbours(
            roundId: roundId,
            shard: shard,
            recipient: recipient,
            ownPoint: Int(ownPoint),
            neighbours: neighbours.map(\.id)
        )
        return SecAggFramed(body: body, tensors: tensors)
    }

    /// The protocol's round id is the wire's, as a decimal string. Nil unless the frames hold
    /// exactly one point, one key record (and, if present, one signature record) per neighbour,
    /// and the points are 1…2^31, unique and not the recipient's own.
    public init?(wire message: Message<SecAggNeighbours>) {
        let body = message.body
        let count = body.neighbours.count
        let tensors = message.tensors
        guard body.ownPoint >= 1,
            SecAggRecords.only(tensors, ["points", "keys", "signatures"]),
            let points = SecAggRecords.bytes(of: tensors, named: "points", count: count, size: SecAggRecords.point),
            let keys = SecAggRecords.bytes(of: tensors, named: "keys", count: count, size: SecAggRecords.keys)
        else { return nil }
        var signatures: [UInt8]?
        if message.tensor(named: "signatures") != nil {
            signatures = SecAggRecords.bytes(
                of: tensors,
                named: "signatures",
                count: count,
                size: SecAggRecords.signature
            )
            guard signatures != nil else { return nil }
        }
        var neighbours: [AnnouncedNeighbour] = []
        neighbours.reserveCapacity(count)
        var seen: Set<UInt32> = [UInt32(truncatingIfNeeded: body.ownPoint)]
        for (index, id) in body.neighbours.enumerated() {
            let point = points.littleEndianUInt32(at: index * SecAggRecords.point)
            // 1…2^31 as on the wire before, each once and none the recipient's own.
            guard point >= 1, point <= 1 << 31, seen.insert(point).inserted else { return nil }
            let record = keys[index * SecAggRecords.keys..<(index + 1) * SecAggRecords.keys]
            let signature = signatures.map {
                $0[index * SecAggRecords.signature..<(index + 1) * SecAggRecords.signature]
            }
            guard let advertised = AdvertisedKeys(record: record, signature: signature) else { return nil }
            neighbours.append(AnnouncedNeighbour(id: id, point: UInt64(point), keys: advertised))
        }
        self.init(roundId: String(body.roundId), ownPoint: UInt64(body.ownPoint), neighbours: neighbours)
    }
}

extension EncryptedShare {
    /// Shares with one common end, `holder`, as one `secagg.shares` message: the ones it sealed
    /// (`sealedByHolder`) or the ones sealed for it, each peer named by its point in `book`.
    /// Nil when a share has another holder at that end, a peer without a point, or a
    /// ciphertext of another size (`seal` makes none).
    public static func wire(
        _ shares: [EncryptedShare],
        holder: String,
        sealedByHolder: Bool,
        roundId: Int,
        shard: Int,
        book: SecAggPointBook
    ) -> SecAggFramed<SecAggShares>? {
        var records: [UInt8] = []
        records.reserveCapacity(shares.count * ciphertextByteCount)
        var peers: [String] = []
        peers.reserveCapacity(shares.count)
        for share in shares {
            let (end, peer) = sealedByHolder ? (share.sender, share.recipient) : (share.recipient, share.sender)
            guard end == holder, share.ciphertext.count == ciphertextByteCount else { return nil }
            peers.append(peer)
            records += share.ciphertext
        }
        guard let points = book.frame(peers) else { return nil }
        return SecAggFramed(
            body: SecAggShares(
                roundId: roundId,
                shard: shard,
                holder: holder,
                sealedByHolder: sealedByHolder,
                peerCount: peers.count
            ),
            tensors: [points, SecAggRecords.frame("ciphertexts", records)]
        )
    }

    /// The shares, their peers looked up in `book`: unreadable unless the two frames hold
    /// exactly one point and one ciphertext record per peer.
    public static func shares(
        wire message: Message<SecAggShares>,
        book: SecAggPointBook
    ) -> Result<[EncryptedShare], SecAggWireRefusal> {
        let body = message.body
        let count = body.peerCount
        guard message.tensors.count == 2, SecAggRecords.only(message.tensors, ["points", "ciphertexts"]),
            let records = SecAggRecords.bytes(
                of: message.tensors,
                named: "ciphertexts",
                count: count,
                size: ciphertextByteCount
            )
        else { return .failure(.unreadable) }
        let peers: [String]
        switch book.ids(in: message.tensors, count: count) {
        case .success(let ids): peers = ids
        case .failure(let refusal): return .failure(refusal)
        }
        var shares: [EncryptedShare] = []
        shares.reserveCapacity(count)
        for (index, peer) in peers.enumerated() {
            let bytes = Array(records[index * ciphertextByteCount..<(index + 1) * ciphertextByteCount])
            shares.append(
                body.sealedByHolder
                    ? EncryptedShare(sender: body.holder, recipient: peer, ciphertext: bytes)
                    : EncryptedShare(sender: peer, recipient: body.holder, ciphertext: bytes)
            )
        }
        return .success(shares)
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
    /// Nil when a named device has no point in `book` (the shard's graph names every member).
    public func wire(
        roundId: Int,
        shard: Int,
        recipient: String,
        book: SecAggPointBook
    )
        -> SecAggFramed<SecAggUnmaskRequest>?
    {
        guard let points = book.frame(survivors + dropped) else { return nil }
        return SecAggFramed(
            body: SecAggUnmaskRequest(
                roundId: roundId,
                shard: shard,
                recipient: recipient,
                survivorCount: survivors.count,
                droppedCount: dropped.count
            ),
            tensors: [points]
        )
    }

    /// The request with its points looked up in the device's `book`; a point in both lists
    /// comes back as one id in both, which the client refuses (`survivorAlsoDropped`).
    public static func from(
        wire message: Message<SecAggUnmaskRequest>,
        book: SecAggPointBook
    ) -> Result<UnmaskRequest, SecAggWireRefusal> {
        let body = message.body
        let (count, overflow) = body.survivorCount.addingReportingOverflow(body.droppedCount)
        guard !overflow, message.tensors.count == 1 else { return .failure(.unreadable) }
        return book.ids(in: message.tensors, count: count).map { ids in
            UnmaskRequest(survivors: Array(ids[..<body.survivorCount]), dropped: Array(ids[body.survivorCount...]))
        }
    }
}

extension UnmaskResponse {
    /// Nil when an owner has no point in the device's `book` (the client answers only for
    /// neighbours it holds shares of, all announced).
    public func wire(roundId: Int, shard: Int, book: SecAggPointBook) -> SecAggFramed<SecAggUnmaskResponse>? {
        let seeds = selfMaskSeedShares.sorted { $0.key < $1.key }
        let keys = maskKeyShares.sorted { $0.key < $1.key }
        var records: [UInt8] = []
        records.reserveCapacity((seeds.count + keys.count) * ShamirShare.byteCount)
        for (_, share) in seeds { share.append(to: &records) }
        for (_, share) in keys { share.append(to: &records) }
        guard let points = book.frame(seeds.map(\.key) + keys.map(\.key)) else { return nil }
        return SecAggFramed(
            body: SecAggUnmaskResponse(
                roundId: roundId,
                shard: shard,
                selfMaskSeedOwners: seeds.count,
                maskKeyOwners: keys.count
            ),
            tensors: [points, SecAggRecords.frame("shares", records)]
        )
    }

    /// The response with its owners looked up in the shard's `book`: unreadable unless the
    /// frames hold one point and one canonical share per owner, and no owner repeats.
    public static func from(
        wire message: Message<SecAggUnmaskResponse>,
        book: SecAggPointBook
    ) -> Result<UnmaskResponse, SecAggWireRefusal> {
        let body = message.body
        let seedCount = body.selfMaskSeedOwners
        let (count, overflow) = seedCount.addingReportingOverflow(body.maskKeyOwners)
        guard !overflow, message.tensors.count == 2, SecAggRecords.only(message.tensors, ["points", "shares"]),
            let records = SecAggRecords.bytes(
                of: message.tensors,
                named: "shares",
                count: count,
                size: ShamirShare.byteCount
            )
        else { return .failure(.unreadable) }
        let owners: [String]
        switch book.ids(in: message.tensors, count: count) {
        case .success(let ids): owners = ids
        case .failure(let refusal): return .failure(refusal)
        }
        var seeds: [String: ShamirShare] = [:]
        var keys: [String: ShamirShare] = [:]
        for (index, owner) in owners.enumerated() {
            let range = index * ShamirShare.byteCount..<(index + 1) * ShamirShare.byteCount
            guard let share = ShamirShare(bytes: records[range]) else { return .failure(.unreadable) }
            let previous =
                index < seedCount ? seeds.updateValue(share, forKey: owner) : keys.updateValue(share, forKey: owner)
            guard previous == nil else { return .failure(.unreadable) }
        }
        return .success(UnmaskResponse(selfMaskSeedShares: seeds, maskKeyShares: keys))
    }
}
