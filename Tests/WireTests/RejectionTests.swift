import Testing

@testable import Wire

/// Each reason the codec produces, provoked by one crafted input.
struct RejectionTests {
    let codec = WireCodec()

    func decodeCode(_ frames: [[UInt8]], codec: WireCodec = WireCodec()) -> RejectReason? {
        let any = failureCode(codec.decode(frames))
        let typed = failureCode(codec.decode(frames, as: Update.self))
        #expect(any == typed || frames.first != Array("update".utf8), "typed and untyped decode disagree")
        return any
    }

    @Test func validUpdateIsAccepted() {
        #expect(decodeCode(Fixtures.updateFrames()) == nil)
    }

    // MARK: frames

    @Test func missingTensorFrameIsAFrameCountMismatch() {
        #expect(decodeCode(Array(Fixtures.updateFrames().dropLast())) == .frameCountMismatch)
    }

    @Test func extraFrameIsAFrameCountMismatch() {
        let frames = Fixtures.updateFrames()
        #expect(decodeCode(frames + [frames[2]]) == .frameCountMismatch)
    }

    @Test(arguments: [0, 1])
    func messageWithoutHeaderIsAFrameCountMismatch(count: Int) {
        #expect(decodeCode(Array(Fixtures.updateFrames().prefix(count))) == .frameCountMismatch)
    }

    @Test func moreFramesThanAnyMessageMayHaveAreOversizedBeforeParsing() {
        var frames = Fixtures.updateFrames()
        frames[1] = Array("not even JSON".utf8)
        #expect(decodeCode(frames + Array(repeating: [], count: 100)) == .oversized)
    }

    // MARK: sizes

    @Test func headerOverTheLimitIsOversized() {
        let small = WireCodec(limits: WireLimits(maxHeaderBytes: 64))
        #expect(decodeCode(Fixtures.updateFrames(), codec: small) == .oversized)
        #expect(throws: WireError.self) { try small.encode(Fixtures.updateMessage()) }
    }

    @Test func messageOverTheTotalLimitIsOversized() {
        let small = WireCodec(limits: WireLimits(maxTotalBytes: 300))
        let frames = Fixtures.updateFrames([Float](repeating: 1, count: 100))
        #expect(decodeCode(frames, codec: small) == .oversized)
        #expect(
            failure(of: { () throws(WireError) in
                _ = try small.encode(Fixtures.updateMessage([Float](repeating: 1, count: 100)))
            }) == .oversized
        )
    }

    @Test func moreTensorsThanTheLimitAreOversized() {
        let one = WireCodec(limits: WireLimits(maxTensors: 1))
        let frames = editingHeader(Fixtures.updateFrames()) { header in
            guard case .array(let descriptors) = header["tensors"] else { return header }
            var second = descriptors[0].setting("name", to: .string("delta2"))
            second = second.setting("elements", to: .number(0)).setting("bytes", to: .number(0))
            return header.setting("tensors", to: .array(descriptors + [second]))
        }
        #expect(decodeCode(frames + [[]], codec: WireCodec()) == nil)
        #expect(decodeCode(frames + [[]], codec: one) == .oversized)
    }

    @Test func elementCountOverTheLimitIsTooManyElements() {
        let tiny = WireCodec(limits: WireLimits(maxElementsPerTensor: 3))
        #expect(decodeCode(Fixtures.updateFrames([1, 2, 3, 4]), codec: tiny) == .tooManyElements)
        #expect(
            failure(of: { () throws(WireError) in _ = try tiny.encode(Fixtures.updateMessage([1, 2, 3, 4])) })
                == .tooManyElements
        )
    }

    @Test func hugeDeclaredCountsAreRefusedWithoutAllocating() {
        let frames = editingHeader(Fixtures.updateFrames()) {
            $0.setting("tensors.0.elements", to: .number(1e19)).setting("tensors.0.bytes", to: .number(4e18))
        }
        #expect(decodeCode(frames) == .malformedHeader)  // above Int64: not an integer Swift can hold
        let large = editingHeader(Fixtures.updateFrames()) {
            $0.setting("tensors.0.elements", to: .number(4e18)).setting("tensors.0.bytes", to: .number(16))
        }
        #expect(decodeCode(large) == .tooManyElements)
        let unlimited = WireCodec(limits: WireLimits(maxElementsPerTensor: .max))
        #expect(decodeCode(large, codec: unlimited) == .byteLengthMismatch)  // elements × 4 overflows
    }

    // MARK: header

    @Test func invalidJSONIsMalformed() {
        var frames = Fixtures.updateFrames()
        frames[1] = Array(#"{"schema":"fedpulse.update.v1","topic":"update","#.utf8)
        #expect(decodeCode(frames) == .malformedHeader)
    }

    static let notStrictJSON: [(String, [UInt8])] = [
        ("not UTF-8", [0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]),
        ("byte-order mark", [0xEF, 0xBB, 0xBF] + Array("{}".utf8)),
        ("array root", Array("[]".utf8)),
        ("duplicate key", Array(#"{"topic":"update","topic":"update"}"#.utf8)),
        ("NaN literal", Array(#"{"x":NaN}"#.utf8)),
        ("number overflowing to infinity", Array(#"{"x":1e400}"#.utf8)),
        ("lone surrogate", Array(#"{"x":"\ud800"}"#.utf8)),
        ("too deep", Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)),
        ("empty", []),
    ]

    @Test(arguments: notStrictJSON)
    func headerThatIsNotStrictJSONIsMalformed(_ label: String, _ header: [UInt8]) {
        var frames = Fixtures.updateFrames()
        frames[1] = header
        #expect(decodeCode(frames) == .malformedHeader, "\(label)")
    }

    @Test func wrongSchemaIDIsASchemaMismatch() {
        let frames = editingHeader(Fixtures.updateFrames()) { $0.setting("schema", to: .string("fedpulse.update.v2")) }
        #expect(decodeCode(frames) == .schemaMismatch)
        let other = editingHeader(Fixtures.updateFrames()) { $0.setting("schema", to: .string("fedpulse.partial.v1")) }
        #expect(decodeCode(other) == .schemaMismatch)
    }

    /// A device or shard still speaking the `secagg.*` v1 wire (id lists, no `points` frame) is
    /// refused at the schema id, before any of its frames is read, and every SecAgg+ header this
    /// build writes says v2.
    @Test(arguments: Fixtures.secAggSamples.filter { Topic.secAgg.contains($0.message.topic) })
    func secAggHeaderOfTheOldWireIsASchemaMismatch(_ sample: Sample) throws {
        let frames = try encode(sample.message)
        let topic = sample.message.topic.rawValue
        #expect(String(decoding: frames[1], as: UTF8.self).contains(#""schema":"fedpulse.\#(topic).v2""#))
        let old = editingHeader(frames) { $0.setting("schema", to: .string("fedpulse.\(topic).v1")) }
        #expect(failureCode(codec.decode(old)) == .schemaMismatch)
    }

    /// The topics whose schema says they carry no tensor frames.
    static let tensorless: Set<Topic> = [
        .checkin, .aggregatorHello, .auditEvent, .ledgerEntry, .roundCompleted, .roundProposal, .roundSummary,
        .roundVerdict, .runEnd,
    ]

    /// A peer attaches a well-formed tensor (descriptor and frame) to a check-in, a hello or a
    /// ledger line: refused at the header, as the schema's `maxItems: 0` refuses it, instead of
    /// being carried (and held) to a role that never reads it.
    @Test(arguments: Fixtures.samples.filter { tensorless.contains($0.message.topic) })
    func aTensorOnATopicThatCarriesNoneIsRefused(_ sample: Sample) throws {
        var frames = editingHeader(try encode(sample.message)) {
            $0.setting(
                "tensors",
                to: .array([
                    .object([
                        "name": .string("x"), "encoding": .string("f32le"), "elements": .number(1), "bytes": .number(4),
                    ])
                ])
            )
        }
        frames.append([0, 0, 128, 63])
        #expect(failureCode(codec.decode(frames)) == .malformedHeader)
    }

    @Test func unknownTopicFrameIsUnknownTopic() {
        var frames = Fixtures.updateFrames()
        frames[0] = Array("gossip".utf8)
        #expect(failureCode(codec.decode(frames)) == .unknownTopic)
        frames[0] = [0xFF, 0x00]
        #expect(failureCode(codec.decode(frames)) == .unknownTopic)
        frames[0] = Array(repeating: 0x61, count: 10_000)
        #expect(failureCode(codec.decode(frames)) == .unknownTopic)
    }

    @Test func topicFrameAndHeaderDisagreeIsATopicMismatch() {
        var frames = Fixtures.updateFrames()
        frames[0] = Array("partial".utf8)
        #expect(failureCode(codec.decode(frames)) == .topicMismatch)
        #expect(failureCode(codec.decode(Fixtures.updateFrames(), as: Partial.self)) == .topicMismatch)
    }

    @Test(arguments: [
        ("body.eligibility", JSONValue.number(1)),
        ("body.batteryPercent", .number(5)),
        ("body.weight", .number(-1)),
        ("body.weight", .string("10")),
        ("body.shard", .number(0.5)),
        ("body.workerId", .string("")),
        ("body.deviceClass", .string("ring")),
        ("body.metrics", .null),
        ("sentAtMillis", .null),
        ("sentAtMillis", .number(-5)),
        ("sender", .string(String(repeating: "x", count: 129))),
        ("tensors.0.sha256", .string("ABC")),
        ("tensors.0.name", .string("9lives")),
        ("tensors.0.extra", .bool(true)),
    ])
    func bodyOrEnvelopeFieldBreakingTheSchemaIsMalformed(_ path: String, _ value: JSONValue) {
        let frames = editingHeader(Fixtures.updateFrames()) { $0.setting(path, to: value) }
        #expect(decodeCode(frames) == .malformedHeader)
    }

    @Test(arguments: ["body.workerId", "body.clipped", "sender", "tensors"])
    func missingRequiredFieldIsMalformed(_ path: String) {
        let frames = editingHeader(Fixtures.updateFrames()) { $0.setting(path, to: nil) }
        #expect(decodeCode(frames) == .malformedHeader)
    }

    // MARK: tensors

    @Test func frameShorterThanDeclaredIsAByteLengthMismatch() {
        var frames = Fixtures.updateFrames()
        frames[2].removeLast()
        #expect(decodeCode(frames) == .byteLengthMismatch)
    }

    @Test func bytesThatAreNotFourPerElementAreAByteLengthMismatch() {
        let frames = editingHeader(Fixtures.updateFrames()) { $0.setting("tensors.0.elements", to: .number(3)) }
        #expect(decodeCode(frames) == .byteLengthMismatch)
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity, .signalingNaN])
    func nonFiniteElementIsNonFinite(_ value: Float) {
        var frames = Fixtures.updateFrames()
        withUnsafeBytes(of: value.bitPattern.littleEndian) { frames[2].replaceSubrange(8..<12, with: $0) }
        #expect(decodeCode(frames) == .nonFinite)
        #expect(
            failure(of: { () throws(WireError) in _ = try codec.encode(Fixtures.updateMessage([1, value])) })
                == .nonFinite
        )
    }

    @Test func unknownEncodingIsUnsupported() {
        let frames = editingHeader(Fixtures.updateFrames()) { $0.setting("tensors.0.encoding", to: .string("f16le")) }
        #expect(decodeCode(frames) == .unsupportedEncoding)
    }

    @Test func repeatedTensorNameIsMalformed() {
        let body = Fixtures.updateMessage().body
        let tensors = [Tensor.f32le(name: "sum", [1]), .f32le(name: "sum", [2])]
        #expect(
            failure(of: { () throws(WireError) in _ = try codec.encode(body, sender: "w-1", tensors: tensors) })
                == .malformedHeader
        )
    }

    @Test func encoderRefusesAnInvalidBodyNamingTheField() {
        let body = Checkin(
            workerId: "w",
            deviceClass: .watch,
            eligibility: .init(consent: true, charging: true, unmetered: true, batteryPercent: 101),
            trainExamples: 1,
            holdoutExamples: 1
        )
        #expect(
            throws: WireError(code: .malformedHeader, detail: "body.eligibility.batteryPercent: 101 is outside 0...100")
        ) {
            try codec.encode(body, sender: "w")
        }
    }

    @Test func codecOnlyProducesCodecReasons() {
        let runtimeOnly = Set(RejectReason.allCases).subtracting(RejectReason.codecReasons)
        #expect(
            runtimeOnly == [
                .digestMismatch, .staleRound, .wrongModelVersion, .duplicate, .notInCohort, .unknownSender, .wrongShard,
                .shapeMismatch, .roundClosed, .normTooLarge, .wrongDeviceClass, .overflow, .unauthorizedSender,
                .bufferFull, .senderMismatch,
            ]
        )
    }
}

/// The code of the `WireError` a closure throws, or nil when it does not throw.
func failure(of body: () throws(WireError) -> Void) -> RejectReason? {
    do {
        try body()
        return nil
    } catch {
        return error.code
    }
}
