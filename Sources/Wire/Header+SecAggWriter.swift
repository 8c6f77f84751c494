/// A `secagg.*` body that can write its own header JSON, byte for byte what `JSONEncoder` with
/// sorted keys writes for it (`SecAggWriterTests` holds every body to that).
///
/// Why: a 501-device SecAgg+ round encodes about seven of these headers per device, and
/// Foundation's `JSONEncoder` (a container tree, boxed values, a key sort per object) was about
/// a tenth of a shard's CPU for bodies of a few integers and ids. The bodies are small and fixed,
/// so each writes its fields in sorted order straight into bytes.
public protocol SecAggHeaderBody: MessageBody {
    /// Writes the body object; returns false if a string needs JSON escaping (never, for a
    /// body that validated: ids are plain ASCII), and the codec then takes the general path.
    func write(_ out: inout SecAggJSONWriter) -> Bool
}

/// The few JSON shapes a `secagg.*` header needs, as `JSONEncoder` spells them (no spaces).
public struct SecAggJSONWriter: Sendable {
    var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// `"name":`, after a comma unless it opens the object.
    mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// A string with nothing to escape (no quote, backslash, control or non-ASCII byte); false
    /// otherwise, and nothing is trusted from this writer after that.
    mutating func string(_ value: String) -> Bool {
        bytes.append(UInt8(ascii: "\""))
        var plain = true
        for byte in value.utf8 {
            if byte < 0x20 || byte >= 0x80 || byte == 0x22 || byte == 0x5C { plain = false }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
        return plain
    }

    mutating func number(_ value: some BinaryInteger) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func bool(_ value: Bool) {
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func strings(_ values: [String]) -> Bool {
        bytes.append(UInt8(ascii: "["))
        var plain = true
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            plain = string(value) && plain
        }
        bytes.append(UInt8(ascii: "]"))
        return plain
    }

    mutating func open() { bytes.append(UInt8(ascii: "{")) }
    mutating func close() { bytes.append(UInt8(ascii: "}")) }
}

extension WireCodec {
    /// The frames `encode(_:sender:sentAtMillis:tensors:)` makes for a `secagg.*` body, after the
    /// same checks, with the header written directly; `JSONEncoder` writes it where the writer
    /// cannot vouch for the bytes (a tensor other than a digest-free `ubits` frame, a string to
    /// escape).
    public func encodeSecAgg<B: SecAggHeaderBody>(
        _ body: B,
        sender: String,
        sentAtMillis: Int64? = nil,
        tensors: [Tensor] = []
    ) throws(WireError) -> [[UInt8]] {
        try encode(Self.envelope(body, sender: sender, sentAtMillis: sentAtMillis, tensors: tensors), tensors) {
            Self.writtenHeader($0)
        }
    }

    /// The header the writer makes of a message that passes every outgoing check, or nil where
    /// `encode` must decide (`SecAggWriterTests` asks which path wrote).
    func secAggHeader<B: SecAggHeaderBody>(
        _ body: B,
        sender: String,
        sentAtMillis: Int64?,
        tensors: [Tensor]
    ) -> [UInt8]? {
        let envelope = Self.envelope(body, sender: sender, sentAtMillis: sentAtMillis, tensors: tensors)
        guard (try? checkOutgoing(envelope, tensors)) != nil, let header = Self.writtenHeader(envelope) else {
            return nil
        }
        return header.count <= limits.maxHeaderBytes ? header : nil
    }

    /// The envelope as `JSONEncoder` with sorted keys writes it, for one that passed the checks;
    /// nil for a tensor the writer does not spell (not `ubits`, or with a digest) or a string
    /// that needs escaping.
    static func writtenHeader<B: SecAggHeaderBody>(_ envelope: Envelope<B>) -> [UInt8]? {
        guard envelope.tensors.allSatisfy({ $0.encoding == .packedBits && $0.sha256 == nil }) else { return nil }
        var out = SecAggJSONWriter(capacity: 256 + 96 * envelope.tensors.count)
        out.open()
        out.key("body", first: true)
        guard envelope.body.write(&out) else { return nil }
        out.key("schema")
        _ = out.string(envelope.schema)
        out.key("sender")
        guard out.string(envelope.sender) else { return nil }
        if let sentAtMillis = envelope.sentAtMillis {
            out.key("sentAtMillis")
            out.number(sentAtMillis)
        }
        out.key("tensors")
        out.bytes.append(UInt8(ascii: "["))
        for (index, tensor) in envelope.tensors.enumerated() {
            if index > 0 { out.bytes.append(UInt8(ascii: ",")) }
            out.open()
            out.key("bytes", first: true)
            out.number(tensor.bytes)
            out.key("elements")
            out.number(tensor.elements)
            out.key("encoding")
            _ = out.string(tensor.encoding.rawValue)
            out.key("name")
            _ = out.string(tensor.name)
            out.close()
        }
        out.bytes.append(UInt8(ascii: "]"))
        out.key("topic")
        _ = out.string(envelope.topic)
        out.close()
        return out.bytes
    }
}

// Each body's keys in the order `JSONEncoder`'s `.sortedKeys` puts them.

extension SecAggKeys: SecAggHeaderBody {
    public func write(_ out: inout SecAggJSONWriter) -> Bool {
        out.open()
        out.key("roundId", first: true)
        out.number(roundId)
        out.key("shard")
        out.number(shard)
        out.close()
        return true
    }
}

extension SecAggNeighbours: SecAggHeaderBody {
    public func write(_ out: inout SecAggJSONWriter) -> Bool {
        out.open()
        out.key("neighbours", first: true)
        let plain = out.strings(neighbours)
        out.key("ownPoint")
        out.number(ownPoint)
        out.key("recipient")
        let plainRecipient = out.string(recipient)
        out.key("roundId")
        out.number(roundId)
        out.key("shard")
        out.number(shard)
        out.close()
        return plain && plainRecipient
    }
}

extension SecAggShares: SecAggHeaderBody {
    public func write(_ out: inout SecAggJSONWriter) -> Bool {
        out.open()
        out.key("holder", first: true)
        let plain = out.string(holder)
        out.key("peerCount")
        out.number(peerCount)
        out.key("roundId")
        out.number(roundId)
        out.key("sealedByHolder")
        out.bool(sealedByHolder)
        out.key("shard")
        out.number(shard)
        out.close()
        return plain
    }
}

extension SecAggMasked: SecAggHeaderBody {
    public func write(_ out: inout SecAggJSONWriter) -> Bool {
        out.open()
        out.key("modulusBits", first: true)
        out.number(modulusBits)
        out.key("roundId")
        out.number(roundId)
        out.key("shard")
        out.number(shard)
        out.close()
        return true
    }
}

extension SecAggUnmaskRequest: SecAggHeaderBody {
    public func write(_ out: inout SecAggJSONWriter) -> Bool {
        out.open()
        out.key("droppedCount", first: true)
        out.number(droppedCount)
        out.key("recipient")
        let plain = out.string(recipient)
        out.key("roundId")
        out.number(roundId)
        out.key("shard")
        out.number(shard)
        out.key("survivorCount")
        out.number(survivorCount)
        out.close()
        return plain
    }
}

extension SecAggUnmaskResponse: SecAggHeaderBody {
    public func write(_ out: inout SecAggJSONWriter) -> Bool {
        out.open()
        out.key("maskKeyOwners", first: true)
        out.number(maskKeyOwners)
        out.key("roundId")
        out.number(roundId)
        out.key("selfMaskSeedOwners")
        out.number(selfMaskSeedOwners)
        out.key("shard")
        out.number(shard)
        out.close()
        return true
    }
}
