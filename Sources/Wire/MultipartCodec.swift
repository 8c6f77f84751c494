import Foundation

/// Turns message values into ZeroMQ multipart frames and back, enforcing `WireLimits`.
///
/// Pure: no sockets, no clocks (`sentAtMillis` is a parameter). Decoding is total: any byte
/// sequence yields a message or a `WireError`, and no allocation is sized by a number read from
/// the message before that number has been checked against the limits and the actual frames.
/// Encoding applies the same checks, so what this codec writes, this codec (and the schemas in
/// `schemas/`) accept.
public struct WireCodec: Sendable {
    /// The bounds applied in both directions.
    public let limits: WireLimits

    /// Creates a codec that enforces `limits` in both directions.
    public init(limits: WireLimits = .default) {
        self.limits = limits
    }

    /// Longest topic frame considered; every known topic is far shorter.
    static let maxTopicBytes = 64

    // MARK: - Encoding

    /// Encodes a body and its tensors as `[topic, header, tensor…]` frames.
    ///
    /// Throws the `WireError` a receiver with the same limits would answer with: invalid body
    /// or sender → `malformedHeader`, NaN/∞ in a tensor → `nonFinite`, too large → `oversized`
    /// or `tooManyElements`.
    public func encode<B: MessageBody>(
        _ body: B,
        sender: String,
        sentAtMillis: Int64? = nil,
        tensors: [Tensor] = []
    ) throws(WireError) -> [[UInt8]] {
        try encode(Self.envelope(body, sender: sender, sentAtMillis: sentAtMillis, tensors: tensors), tensors) { _ in
            nil
        }
    }

    /// The envelope `encode` writes for these parts.
    static func envelope<B: MessageBody>(
        _ body: B,
        sender: String,
        sentAtMillis: Int64?,
        tensors: [Tensor]
    ) -> Envelope<B> {
        Envelope(
            schema: B.topic.schemaID,
            topic: B.topic.rawValue,
            sender: sender,
            sentAtMillis: sentAtMillis,
            tensors: tensors.map(TensorDescriptor.init),
            body: body
        )
    }

    /// Every check a receiver makes of an outgoing envelope and its tensors.
    func checkOutgoing<B: MessageBody>(_ envelope: Envelope<B>, _ tensors: [Tensor]) throws(WireError) {
        try checkEnvelope(envelope)
        try checkDescriptors(envelope.tensors, frameCount: tensors.count, of: B.self)
        for (descriptor, tensor) in zip(envelope.tensors, tensors) {
            _ = try checkTensor(descriptor, frame: tensor.storage)
        }
    }

    /// The checks, the header (`written`'s bytes, else `JSONEncoder`'s) and the frames.
    func encode<B: MessageBody>(
        _ envelope: Envelope<B>,
        _ tensors: [Tensor],
        written: (Envelope<B>) -> [UInt8]?
    ) throws(WireError) -> [[UInt8]] {
        try checkOutgoing(envelope, tensors)
        let header: [UInt8]
        if let bytes = written(envelope) {
            header = bytes
        } else {
            do {
                header = Array(try Self.makeEncoder().encode(envelope))
            } catch {
                throw .malformed("header is not representable as JSON: \(error)")
            }
        }
        guard header.count <= limits.maxHeaderBytes else {
            throw WireError(
                code: .oversized,
                detail: "header of \(header.count) bytes exceeds \(limits.maxHeaderBytes)"
            )
        }
        let frames = [Array(B.topic.rawValue.utf8), header] + tensors.map(\.bytes)
        try checkTotalSize(frames.map(\.count))
        return frames
    }

    /// Encodes a message value; the same as `encode(_:sender:sentAtMillis:tensors:)`.
    public func encode<B: MessageBody>(_ message: Message<B>) throws(WireError) -> [[UInt8]] {
        try encode(message.body, sender: message.sender, sentAtMillis: message.sentAtMillis, tensors: message.tensors)
    }

    // MARK: - Decoding

    /// Decodes a message that must be of topic `B.topic`; any other topic is `topicMismatch`.
    public func decode<B: MessageBody>(_ frames: [[UInt8]], as type: B.Type) -> Result<Message<B>, WireError> {
        decode(frames.map(WireFrame.bytes), as: type)
    }

    /// The same for frames some of which stay in their receive buffers (``WireFrame/borrowed(_:)``):
    /// the tensors then refer to those buffers instead of copies.
    ///
    /// - Parameter scanningFloats: `false` skips the NaN/∞ scan of `f32le` tensors, for a receiver
    ///   that checks every element itself before any use, in the same pass as its own work (the
    ///   shard's fused check-and-add refuses them as `nonFinite`). Every other check still runs.
    public func decode<B: MessageBody>(
        _ frames: [WireFrame],
        as type: B.Type,
        scanningFloats: Bool = true
    ) -> Result<Message<B>, WireError> {
        Result { () throws(WireError) -> Message<B> in
            try decodeMessage(frames, as: type, scanningFloats: scanningFloats)
        }
        .mapError(\.loggable)
    }

    private func decodeMessage<B: MessageBody>(
        _ frames: [WireFrame],
        as type: B.Type,
        scanningFloats: Bool = true
    ) throws(WireError) -> Message<B> {
        let topic = try readTopic(frames).get()
        guard topic == B.topic else {
            throw WireError(code: .topicMismatch, detail: "frame 0 is \(topic), expected \(B.topic)")
        }
        guard frames[1].count <= limits.maxHeaderBytes else {
            throw WireError(
                code: .oversized,
                detail: "header of \(frames[1].count) bytes exceeds \(limits.maxHeaderBytes)"
            )
        }
        let headerFrame = frames[1].array
        let document = try JSONParser.parse(headerFrame)
        guard case .object = document else { throw .malformed("header is not a JSON object") }
        guard case .string(let headerTopic) = document["topic"] else {
            throw .malformed("topic: missing or not a string")
        }
        guard headerTopic == topic.rawValue else {
            throw WireError(
                code: .topicMismatch,
                detail: "frame 0 is \(topic), header says \(Self.printable(headerTopic))"
            )
        }
        guard case .string(let schema) = document["schema"] else { throw .malformed("schema: missing or not a string") }
        guard schema == topic.schemaID else {
            throw WireError(
                code: .schemaMismatch,
                detail: "schema \(Self.printable(schema)), expected \(topic.schemaID)"
            )
        }
        let envelope: Envelope<B>
        var readEveryMember = false
        do {
            // Straight from the tree parsed above; `JSONDecoder` only where that path is unsure
            // (and for every refusal, whose wording it owns).
            if let fast = try? JSONValueDecoder.decodeAuditingReads(Envelope<B>.self, from: document) {
                envelope = fast.value
                readEveryMember = fast.readEveryMember
            } else {
                envelope = try JSONDecoder().decode(Envelope<B>.self, from: Data(headerFrame))
            }
        } catch let error as DecodingError {
            throw .malformed(Self.numberMisfit(in: document, as: B.self, error) ?? Self.describe(error))
        } catch {
            throw .malformed("header: \(error)")
        }
        // A decode that read every member of every object and array leaves no key unknown.
        if !readEveryMember { try rejectUnknownKeys(document, envelope) }
        try checkEnvelope(envelope)
        try checkDescriptors(envelope.tensors, frameCount: frames.count - 2, of: B.self)
        var tensors: [Tensor] = []
        tensors.reserveCapacity(envelope.tensors.count)
        for (descriptor, frame) in zip(envelope.tensors, frames[2...]) {
            tensors.append(try checkTensor(descriptor, frame: frame.storage, scanningFloats: scanningFloats))
        }
        return Message(
            sender: envelope.sender,
            sentAtMillis: envelope.sentAtMillis,
            body: envelope.body,
            tensors: tensors
        )
    }

    /// Checks the frame count and total size, and returns frame 0 as a known topic.
    func readTopic(_ frames: [[UInt8]]) -> Result<Topic, WireError> {
        readTopic(frames.map(WireFrame.bytes))
    }

    /// The topic of frames some of which may be borrowed.
    public func readTopic(_ frames: [WireFrame]) -> Result<Topic, WireError> {
        guard frames.count >= 2 else {
            return .failure(
                WireError(code: .frameCountMismatch, detail: "\(frames.count) frames, need topic and header")
            )
        }
        guard frames.count <= 2 + limits.maxTensors else {
            return .failure(
                WireError(code: .oversized, detail: "\(frames.count) frames exceed 2 + \(limits.maxTensors) tensors")
            )
        }
        do throws(WireError) {
            try checkTotalSize(frames.map(\.count))
        } catch {
            return .failure(error)
        }
        // Only the first bytes are read, so a huge borrowed frame 0 is never copied.
        let text = String(decoding: frames[0].prefix(Self.maxTopicBytes), as: UTF8.self)
        guard frames[0].count <= Self.maxTopicBytes, let topic = Topic.known.first(where: { $0.rawValue == text })
        else {
            return .failure(WireError(code: .unknownTopic, detail: "unknown topic \(Self.printable(text))"))
        }
        return .success(topic)
    }

    // MARK: - Checks shared by both directions

    private func checkTotalSize(_ sizes: [Int]) throws(WireError) {
        var total = 0
        for size in sizes {
            total += size
            guard total <= limits.maxTotalBytes else {
                throw WireError(code: .oversized, detail: "message exceeds \(limits.maxTotalBytes) bytes")
            }
        }
    }

    private func checkEnvelope<B: MessageBody>(_ envelope: Envelope<B>) throws(WireError) {
        let check = FieldCheck(path: "")
        try check.id("sender", envelope.sender)
        if let sentAtMillis = envelope.sentAtMillis { try check.atLeast("sentAtMillis", sentAtMillis, 0) }
        try envelope.body.validate()
    }

    private func checkDescriptors<B: MessageBody>(
        _ descriptors: [TensorDescriptor],
        frameCount: Int,
        of body: B.Type
    ) throws(WireError) {
        guard B.carriesTensors || descriptors.isEmpty else {
            throw WireError(code: .malformedHeader, detail: "tensors: a \(B.topic) header describes none")
        }
        guard descriptors.count <= limits.maxTensors else {
            throw WireError(code: .oversized, detail: "\(descriptors.count) tensors exceed \(limits.maxTensors)")
        }
        guard descriptors.count == frameCount else {
            throw WireError(
                code: .frameCountMismatch,
                detail: "header describes \(descriptors.count) tensors, \(frameCount) frames follow"
            )
        }
        var names = Set<String>()
        for (index, descriptor) in descriptors.enumerated() {
            let check = FieldCheck(path: "tensors[\(index)]")
            try check.require(TensorDescriptor.isValidName(descriptor.name), "name", "is not a valid tensor name")
            try check.require(names.insert(descriptor.name).inserted, "name", "\(descriptor.name) is repeated")
            try check.atLeast("elements", descriptor.elements, 0)
            try check.atLeast("bytes", descriptor.bytes, 0)
            if let sha256 = descriptor.sha256 { try check.digest("sha256", sha256) }
        }
    }

    /// Checks one descriptor against its frame and the limits; returns the tensor.
    private func checkTensor(
        _ descriptor: TensorDescriptor,
        frame: Tensor.Storage,
        scanningFloats: Bool = true
    ) throws(WireError) -> Tensor {
        let name = descriptor.name
        guard TensorEncoding.supported.contains(descriptor.encoding) else {
            throw WireError(
                code: .unsupportedEncoding,
                detail: "tensor \(name): encoding \(Self.printable(descriptor.encoding.rawValue))"
            )
        }
        guard descriptor.elements <= limits.maxElementsPerTensor else {
            throw WireError(
                code: .tooManyElements,
                detail: "tensor \(name): \(descriptor.elements) elements exceed \(limits.maxElementsPerTensor)"
            )
        }
        guard let lengths = descriptor.encoding.byteLengths(elements: descriptor.elements),
            lengths.contains(descriptor.bytes)
        else {
            throw WireError(
                code: .byteLengthMismatch,
                detail:
                    "tensor \(name): \(descriptor.bytes) bytes for \(descriptor.elements) \(descriptor.encoding) elements"
            )
        }
        let frameBytes = WireFrame(frame).count
        guard frameBytes == descriptor.bytes else {
            throw WireError(
                code: .byteLengthMismatch,
                detail: "tensor \(name): frame has \(frameBytes) bytes, header says \(descriptor.bytes)"
            )
        }
        if scanningFloats, descriptor.encoding == .f32le,
            let element = WireFrame(frame).withUnsafeBytes({ F32LE.firstNonFinite(in: $0) })
        {
            throw WireError(code: .nonFinite, detail: "tensor \(name): element \(element) is NaN or infinite")
        }
        return Tensor(
            name: name,
            encoding: descriptor.encoding,
            storage: frame,
            elementCount: descriptor.elements,
            sha256: descriptor.sha256
        )
    }

    /// Rejects keys the typed decode ignored, as the schemas' `additionalProperties: false` does.
    private func rejectUnknownKeys<B: MessageBody>(_ document: JSONValue, _ envelope: Envelope<B>) throws(WireError) {
        let canonical: JSONValue
        do {
            canonical = try ShapeEncoder.shape(of: envelope)
        } catch {
            throw .malformed("header cannot be re-encoded: \(error)")
        }
        if let path = document.firstKeyMissing(from: canonical, path: "") {
            throw .malformed("\(Self.printable(path)): unknown or null field")
        }
    }

    // MARK: - Helpers

    /// Sorted keys make a header's bytes a function of its value (stable digests, diffable logs).
    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
