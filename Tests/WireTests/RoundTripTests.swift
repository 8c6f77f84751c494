import Testing

@testable import Wire

struct RoundTripTests {
    @Test(arguments: Fixtures.samples)
    func encodedMessageDecodesToTheSameValue(_ sample: Sample) throws {
        let frames = try encode(sample.message)
        #expect(frames[0] == Array(sample.message.topic.rawValue.utf8))
        #expect(frames.count == 2 + sample.message.tensors.count)
        let decoded = try WireCodec().decode(frames).get()
        #expect(decoded == sample.message)
        #expect(decoded.topic == sample.message.topic)
        #expect(decoded.sender == sample.message.sender)
        #expect(decoded.sentAtMillis == sample.message.sentAtMillis)
    }

    @Test(arguments: Fixtures.samples)
    func encodingIsDeterministic(_ sample: Sample) throws {
        #expect(try encode(sample.message) == encode(sample.message))
    }

    @Test func everyKnownTopicHasASample() {
        let covered = Set(Fixtures.samples.map(\.message.topic))
        #expect(covered == Set(Topic.known))
    }

    @Test func typedDecodeReturnsTheBodyAndTensors() throws {
        let message = Fixtures.updateMessage([0.5, -2, 7])
        let decoded = try WireCodec().decode(try WireCodec().encode(message), as: Update.self).get()
        #expect(decoded == message)
        #expect(decoded.tensor(named: "delta")?.floats() == [0.5, -2, 7])
        #expect(decoded.tensor(named: "sum") == nil)
    }

    /// A header as Python's `json.dumps` writes it (spaces, `0.0`, other key order), from schemas/README.md.
    @Test func headerFromThePythonExampleIsAccepted() throws {
        let header = """
            {"schema": "fedpulse.update.v1", "topic": "update", "sender": "py-worker-1", "tensors": [{"name": "delta", \
            "encoding": "f32le", "elements": 3, "bytes": 12}], "body": {"roundId": 1, "modelVersion": 0, \
            "workerId": "py-worker-1", "deviceClass": "phone", "shard": 0, "weight": 120, "norm": 0.0, "clipped": false}}
            """
        let frames = [Array("update".utf8), Array(header.utf8), Tensor.f32le(name: "delta", [0, 0.5, -1]).bytes]
        let message = try WireCodec().decode(frames, as: Update.self).get()
        #expect(message.sender == "py-worker-1")
        #expect(message.body.deviceClass == .phone)
        #expect(message.body.weight == 120)
        #expect(message.tensors.first?.floats() == [0, 0.5, -1])
    }

    @Test func optionalFieldsAreOmittedNotNull() throws {
        let minimal = AuditEvent(role: "global", kind: "noise.added")
        let frames = try WireCodec().encode(minimal, sender: "global")
        let header = String(decoding: frames[1], as: UTF8.self)
        #expect(!header.contains("null"))
        #expect(!header.contains("sentAtMillis"))
        #expect(!header.contains("roundId"))
        #expect(header.contains(#""tensors":[]"#))
        #expect(header.contains(#""schema":"fedpulse.audit.event.v1""#))
    }

    @Test func tensorDescriptorCarriesCountsAndDigest() throws {
        let frames = try WireCodec().encode(Fixtures.updateMessage())
        let header = try JSONParser.parse(frames[1])
        #expect(
            header["tensors"]
                == .array([
                    .object([
                        "name": .string("delta"), "encoding": .string("f32le"), "elements": .number(4),
                        "bytes": .number(16),
                    ])
                ])
        )
        let open = try #require(Fixtures.samples.first { $0.label == "round.open central" })
        let openHeader = try JSONParser.parse(try encode(open.message)[1])
        guard case .array(let descriptors) = openHeader["tensors"], case .object(let first)? = descriptors.first else {
            Issue.record("round.open header has no tensor descriptor")
            return
        }
        #expect(first["sha256"] == .string(Fixtures.digest))
    }

    @Test func noKnownTopicIsAPrefixOfAnother() {
        for topic in Topic.known {
            for other in Topic.known where other != topic {
                #expect(!other.rawValue.hasPrefix(topic.rawValue), "SUB filter \(topic) would also match \(other)")
            }
        }
    }

    @Test func jsonValueConvertsCodableValuesBothWays() throws {
        struct Spec: Codable, Equatable {
            var name: String
            var sizes: [Int]
            var rate: Double?
        }
        let spec = Spec(name: "logreg/v1", sizes: [12, 1], rate: nil)
        let value = try JSONValue(encoding: spec)
        #expect(value == .object(["name": .string("logreg/v1"), "sizes": .array([.number(12), .number(1)])]))
        #expect(try value.decoded(as: Spec.self) == spec)
        #expect(throws: WireError.self) { try JSONValue.string("x").decoded(as: Spec.self) }
    }
}

struct TensorTests {
    @Test func f32leIsLittleEndianIEEE754() {
        let tensor = Tensor.f32le(name: "w", [1, -2.5])
        #expect(tensor.bytes == [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0])
        #expect(tensor.elementCount == 2)
        #expect(tensor.encoding == .f32le)
        #expect(tensor.sha256 == nil)
    }

    @Test func floatsRoundTripBitForBit() {
        let values = Fixtures.awkwardFloats
        let decoded = Tensor.f32le(name: "w", values).floats()
        #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func accumulateAddsScaledElements() throws {
        var sum: [Float] = [1, 1, 1]
        try Tensor.f32le(name: "d", [2, -4, 0.5]).accumulate(into: &sum, scale: 0.5)
        try Tensor.f32le(name: "d", [1, 1, 1]).accumulate(into: &sum)
        #expect(sum == [3, 0, 2.25])
    }

    @Test func accumulateRefusesAnotherShape() {
        var sum: [Float] = [0, 0]
        #expect(throws: WireError(code: .shapeMismatch, detail: "tensor d has 3 elements, accumulator 2")) {
            try Tensor.f32le(name: "d", [1, 2, 3]).accumulate(into: &sum)
        }
        #expect(sum == [0, 0])
    }

    /// libzmq hands over frames at odd addresses; the kernels must read them byte-wise.
    @Test(arguments: [1, 2, 3])
    func kernelsReadMisalignedBytes(offset: Int) {
        let values: [Float] = [1.5, -0.25, 3e8, .leastNonzeroMagnitude, 42]
        let bytes = Tensor.f32le(name: "w", values).bytes
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + offset, alignment: 16)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0xEE)
        let window = UnsafeMutableRawBufferPointer(rebasing: storage[offset..<(offset + bytes.count)])
        window.copyBytes(from: bytes)
        let raw = UnsafeRawBufferPointer(window)
        #expect(Int(bitPattern: raw.baseAddress) % 4 != 0)
        #expect(F32LE.decode(raw).map(\.bitPattern) == values.map(\.bitPattern))
        #expect(F32LE.firstNonFinite(in: raw) == nil)
        var sum = [Float](repeating: 1, count: values.count)
        sum.withUnsafeMutableBufferPointer { F32LE.accumulate(raw, into: $0, scale: 2) }
        #expect(sum == values.map { 1 + 2 * $0 })
        window.storeBytes(of: Float.nan.bitPattern.littleEndian, toByteOffset: 8, as: UInt32.self)
        #expect(F32LE.firstNonFinite(in: UnsafeRawBufferPointer(window)) == 2)
    }

    /// The same through the public decoder, with the frame cut out of a larger buffer.
    @Test func decoderAcceptsAFrameSlicedAtAnOddOffset() throws {
        let values: [Float] = [0.5, 1.5, -8]
        var frames = Fixtures.updateFrames(values)
        let padded = [0xAB] + frames[2] + [0xCD]
        frames[2] = Array(padded[1..<(padded.count - 1)])
        let decoded = try WireCodec().decode(frames, as: Update.self).get()
        #expect(decoded.tensors.first?.floats() == values)
    }

    @Test func largeTensorAccumulatesWithoutIntermediateArray() throws {
        let count = 1_000_000
        let tensor = Tensor.f32le(name: "delta", [Float](repeating: 0.5, count: count))
        let frames = try WireCodec().encode(Fixtures.updateMessage().body, sender: "w-1", tensors: [tensor])
        let decoded = try WireCodec().decode(frames, as: Update.self).get()
        var sum = [Float](repeating: 0, count: count)
        try decoded.tensors[0].accumulate(into: &sum, scale: 4)
        #expect(sum.allSatisfy { $0 == 2 })
    }
}
