import Foundation
import Testing
import Wire

@testable import SecureAggregation

/// The `secagg.*` bodies: what the protocol produces encodes, validates against the schemas in
/// schemas/, and converts back to the same values.
@Suite(.timeLimit(.minutes(2)))
struct SecAggWireTests {
    /// Encodes through the codec (which validates), then decodes the frames the way a peer
    /// does, descriptors and record frames included.
    static func roundTrip<Body: MessageBody>(
        _ framed: SecAggFramed<Body>,
        headers: inout [[UInt8]]
    ) throws -> Message<Body> {
        try roundTrip(framed.body, tensors: framed.tensors, headers: &headers)
    }

    static func roundTrip<Body: MessageBody>(
        _ body: Body,
        tensors: [Tensor] = [],
        headers: inout [[UInt8]]
    ) throws -> Message<Body> {
        let frames = try WireCodec().encode(body, sender: "watch-0", tensors: tensors)
        #expect(frames[0] == Array(Body.topic.rawValue.utf8))
        headers.append(frames[1])
        return try WireCodec().decode(frames, as: Body.self).get()
    }

    @Test func everyStageRoundTripsAndMatchesItsSchema() throws {
        var round = try ManualRound(devices: 8, degree: 4, threshold: 2, seed: 51, signed: true)
        var headers: [[UInt8]] = []
        let keys = try round.client("watch-0").advertisedKeys()
        let keysBack = try Self.roundTrip(keys.wire(roundId: 1, shard: 0), headers: &headers)
        #expect(!keys.signature.isEmpty)
        #expect(AdvertisedKeys(wire: keysBack) == keys)

        let announcements = try round.advertise()
        let (id, announcement) = try #require(announcements.sorted { $0.key < $1.key }.first)
        let announced = try #require(announcement.wire(roundId: 1, shard: 0, recipient: id))
        #expect(NeighbourAnnouncement(wire: try Self.roundTrip(announced, headers: &headers)) == announcement)

        // The shard names devices by its graph's points, the device by what its announcement said.
        let book = SecAggPointBook(graph: round.server.graph)
        let deviceBook = SecAggPointBook(announcement: announcement, ownId: id)
        let forwarded = try round.share(announcements)
        let shares = try #require(forwarded[id])
        let framedShares = try #require(
            EncryptedShare.wire(shares, holder: id, sealedByHolder: false, roundId: 1, shard: 0, book: book)
        )
        #expect(EncryptedShare.wire(shares, holder: id, sealedByHolder: true, roundId: 1, shard: 0, book: book) == nil)
        let sharesBack = try Self.roundTrip(framedShares, headers: &headers)
        #expect(EncryptedShare.shares(wire: sharesBack, book: deviceBook) == .success(shares))

        let masked = try round.client(id).configuration.modulusBits
        let vector = try #require(ModularVector(bits: masked, values: (0..<16).map { UInt64($0 * 1000) }))
        let tensor = try #require(vector.tensor())
        _ = try Self.roundTrip(
            SecAggMasked(roundId: 1, shard: 0, modulusBits: masked),
            tensors: [tensor],
            headers: &headers
        )
        #expect(ModularVector(tensor: tensor, bits: masked, count: 16) == vector)

        let requests = try round.mask(forwarded)
        let request = try #require(requests[id])
        let framedRequest = try #require(request.wire(roundId: 1, shard: 0, recipient: id, book: book))
        let requestBack = try Self.roundTrip(framedRequest, headers: &headers)
        #expect(UnmaskRequest.from(wire: requestBack, book: deviceBook) == .success(request))
        var device = try round.client(id)
        let response = try device.unmaskRequested(request)
        let framedResponse = try #require(response.wire(roundId: 1, shard: 0, book: deviceBook))
        let responseBack = try Self.roundTrip(framedResponse, headers: &headers)
        #expect(UnmaskResponse.from(wire: responseBack, book: book) == .success(response))

        // The schemas refuse what the decoder refuses: a key record inside the header.
        let broken = Array(
            String(decoding: headers[0], as: UTF8.self).replacingOccurrences(
                of: "\"shard\":0",
                with: "\"shard\":0,\"keys\":\"00\""
            ).utf8
        )
        #expect(broken != headers[0])
        #expect(throws: WireError.self) {
            try WireCodec().decode([Array("secagg.keys".utf8), broken] + keysBack.tensors.map(\.bytes)).get()
        }
        let verdicts = try Self.checkSchemas(headers + [broken])
        #expect(verdicts.count == headers.count + 1)
        #expect(verdicts.dropLast().allSatisfy { $0.hasPrefix("OK") }, "\(verdicts)")
        #expect(verdicts.last?.hasPrefix("FAIL") == true)
    }

    /// Every record frame is refused unless its size is exactly the header's count times the
    /// record, its encoding one byte per element, and no frame is unexpected: checked before
    /// any byte is read, so no frame content can trap.
    @Test func recordFramesOfTheWrongShapeAreRefused() throws {
        var round = try ManualRound(devices: 8, degree: 4, threshold: 2, seed: 52)
        let keys = try round.client("watch-0").advertisedKeys()
        let good = keys.wire(roundId: 1, shard: 0)
        func keysMessage(_ tensors: [Tensor]) -> Message<SecAggKeys> {
            Message(sender: "watch-0", body: good.body, tensors: tensors)
        }
        let record = try #require(good.tensors.first).bytes
        #expect(AdvertisedKeys(wire: keysMessage(good.tensors)) == keys)
        #expect(AdvertisedKeys(wire: keysMessage([])) == nil)
        #expect(AdvertisedKeys(wire: keysMessage([SecAggRecords.frame("keys", Array(record.dropLast()))])) == nil)
        #expect(AdvertisedKeys(wire: keysMessage([SecAggRecords.frame("keys", record + record)])) == nil)
        #expect(
            AdvertisedKeys(wire: keysMessage([SecAggRecords.frame("keys", record), .f32le(name: "extra", [1])])) == nil
        )
        #expect(
            AdvertisedKeys(
                wire: keysMessage([SecAggRecords.frame("keys", record), SecAggRecords.frame("signatures", [1])])
            )
                == nil
        )
        let f32 = Tensor.encoded(name: "keys", encoding: .f32le, bytes: record, elementCount: record.count / 4)
        #expect(AdvertisedKeys(wire: keysMessage([f32])) == nil)

        let announcements = try round.advertise()
        let (id, announcement) = try #require(announcements.sorted { $0.key < $1.key }.first)
        let announced = try #require(announcement.wire(roundId: 1, shard: 0, recipient: id))
        var fewer = announced.body
        fewer.neighbours.removeLast()
        #expect(NeighbourAnnouncement(wire: Message(sender: "s", body: fewer, tensors: announced.tensors)) == nil)
        #expect(NeighbourAnnouncement(wire: Message(sender: "s", body: announced.body, tensors: [])) == nil)
        #expect(
            NeighbourAnnouncement(wire: Message(sender: "s", body: announced.body, tensors: announced.tensors)) != nil
        )
        // A point frame with a zero, a repeat, the recipient's own point, or one past 2^31.
        let points = try #require(announced.tensors.first { $0.name == "points" }).bytes
        let own = UInt32(truncatingIfNeeded: announced.body.ownPoint)
        let forgedPoints: [[UInt8]] = [
            [0, 0, 0, 0] + points.dropFirst(4),
            Array(points.prefix(4)) + points.prefix(4) + points.dropFirst(8),
            withUnsafeBytes(of: own.littleEndian, Array.init) + points.dropFirst(4),
            [1, 0, 0, 0x80] + points.dropFirst(4),
        ]
        for forged in forgedPoints {
            let tensors = [SecAggRecords.frame("points", forged)] + announced.tensors.filter { $0.name != "points" }
            #expect(NeighbourAnnouncement(wire: Message(sender: "s", body: announced.body, tensors: tensors)) == nil)
        }

        let book = SecAggPointBook(graph: round.server.graph)
        let forwarded = try round.share(announcements)
        let shares = try #require(forwarded[id])
        let framed = try #require(
            EncryptedShare.wire(shares, holder: id, sealedByHolder: false, roundId: 1, shard: 0, book: book)
        )
        let pointFrame = try #require(framed.tensors.first { $0.name == "points" })
        let ciphertexts = try #require(framed.tensors.first { $0.name == "ciphertexts" }).bytes
        func sharesBack(_ body: SecAggShares, _ tensors: [Tensor]) -> Result<[EncryptedShare], SecAggWireRefusal> {
            EncryptedShare.shares(wire: Message(sender: "s", body: body, tensors: tensors), book: book)
        }
        #expect(sharesBack(framed.body, framed.tensors) == .success(shares))
        var extraPeer = framed.body
        extraPeer.peerCount += 1
        #expect(sharesBack(extraPeer, framed.tensors) == .failure(.unreadable))
        let short = SecAggRecords.frame("ciphertexts", Array(ciphertexts.dropFirst()))
        #expect(sharesBack(framed.body, [pointFrame, short]) == .failure(.unreadable))
        let renamed = SecAggRecords.frame("shares", ciphertexts)
        #expect(sharesBack(framed.body, [pointFrame, renamed]) == .failure(.unreadable))
        #expect(sharesBack(framed.body, [SecAggRecords.frame("ciphertexts", ciphertexts)]) == .failure(.unreadable))
        // A point no member stands behind (8 members: points 1…8) is named, not guessed at.
        var stranger = pointFrame.bytes
        stranger.replaceSubrange(0..<4, with: [0xff, 0, 0, 0])
        let strangerFrames = [SecAggRecords.frame("points", stranger), SecAggRecords.frame("ciphertexts", ciphertexts)]
        #expect(sharesBack(framed.body, strangerFrames) == .failure(.unknownPoint(255)))

        // A share whose limb is not below p, or whose point is 0, is refused as it is read.
        let response = try #require(
            UnmaskResponse(
                selfMaskSeedShares: ["watch-1": ShamirShare(x: 3, values: [UInt64](repeating: 1, count: 8))],
                maskKeyShares: [:]
            ).wire(roundId: 1, shard: 0, book: book)
        )
        let owners = try #require(response.tensors.first { $0.name == "points" })
        let bytes = try #require(response.tensors.first { $0.name == "shares" }).bytes
        func responseBack(_ tensors: [Tensor]) -> Result<UnmaskResponse, SecAggWireRefusal> {
            UnmaskResponse.from(wire: Message(sender: "s", body: response.body, tensors: tensors), book: book)
        }
        #expect((try? responseBack(response.tensors).get())?.selfMaskSeedShares.keys.sorted() == ["watch-1"])
        var zeroPoint = bytes
        zeroPoint.replaceSubrange(0..<8, with: [UInt8](repeating: 0, count: 8))
        var notCanonical = bytes
        notCanonical.replaceSubrange(8..<16, with: [UInt8](repeating: 0xff, count: 8))
        for forged in [zeroPoint, notCanonical, Array(bytes.dropLast()), bytes + bytes] {
            #expect(responseBack([owners, SecAggRecords.frame("shares", forged)]) == .failure(.unreadable))
        }
        #expect(responseBack([SecAggRecords.frame("shares", bytes)]) == .failure(.unreadable))
    }

    @Test func malformedFieldsAreRefusedByTheBody() throws {
        #expect(throws: WireError.self) { try SecAggMasked(roundId: 1, shard: 0, modulusBits: 63).validate() }
        #expect(throws: WireError.self) {
            try SecAggShares(roundId: 1, shard: 0, holder: "a", sealedByHolder: true, peerCount: -1).validate()
        }
        #expect(throws: WireError.self) {
            try SecAggShares(roundId: 1, shard: 0, holder: "a b", sealedByHolder: true, peerCount: 0).validate()
        }
        let tooMany = SecAggWireLimits.maxDegree + 1
        #expect(throws: WireError.self) {
            try SecAggUnmaskRequest(roundId: 1, shard: 0, recipient: "a", survivorCount: tooMany, droppedCount: 0)
                .validate()
        }
        #expect(throws: WireError.self) {
            try SecAggUnmaskResponse(roundId: 1, shard: 0, selfMaskSeedOwners: 0, maskKeyOwners: tooMany).validate()
        }
        #expect(throws: WireError.self) {
            try SecAggShares(roundId: 1, shard: 0, holder: "a", sealedByHolder: true, peerCount: tooMany).validate()
        }
        // Values the float tensor can carry but a masked vector cannot: fractions, negatives, ≥ 2^b.
        for bad: Float in [0.5, -1, 4096] {
            #expect(ModularVector(tensor: .f32le(name: "masked", [1, bad]), bits: 12, count: 2) == nil)
        }
        #expect(ModularVector(tensor: .f32le(name: "masked", [1, 2]), bits: 12, count: 3) == nil)
        #expect(ModularVector(bits: 63, values: [1])?.tensor() == nil)
        // Packed: the exact byte count, no padding bit set.
        let packed = try #require(ModularVector(bits: 20, values: [1, 2, 3])?.tensor())
        #expect(packed.encoding == .packedBits && packed.bytes.count == 8)
        #expect(ModularVector(tensor: packed, bits: 20, count: 3) == ModularVector(bits: 20, values: [1, 2, 3]))
        #expect(ModularVector(tensor: packed, bits: 22, count: 3) == nil)
        var padded = packed.bytes
        padded[7] |= 0x80
        let forged = Tensor.encoded(name: "masked", encoding: .packedBits, bytes: padded, elementCount: 3)
        #expect(ModularVector(tensor: forged, bits: 20, count: 3) == nil)
    }

    @Test func wireSizesAreTheProtocolsByteCounts() {
        #expect(SecAggRecords.ciphertext == EncryptedShare.ciphertextByteCount)
        #expect(SecAggRecords.share == ShamirShare.byteCount)
        #expect(SecAggRecords.keys == 3 * 32)
        #expect(Topic.secAgg.allSatisfy { Topic.known.contains($0) })
        let names = Topic.known.map(\.rawValue)
        for name in names {
            #expect(names.filter { $0 != name && $0.hasPrefix(name) }.isEmpty, "\(name) is a prefix of another topic")
        }
    }

    /// Runs scripts/check_schemas.py over the headers with schemas/.
    static func checkSchemas(_ headers: [[UInt8]]) throws -> [String] {
        var root = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("schemas/envelope.schema.json").path)
        {
            let parent = root.deletingLastPathComponent()
            guard parent.path != root.path else { throw CocoaError(.fileNoSuchFile) }
            root = parent
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("secagg-schemas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let schemas = root.appendingPathComponent("schemas")
        var arguments = [root.appendingPathComponent("scripts/check_schemas.py").path, "--schemas", schemas.path]
        for (index, header) in headers.enumerated() {
            let file = work.appendingPathComponent("\(index).json")
            try Data(header).write(to: file)
            arguments.append(file.path)
        }
        let output = work.appendingPathComponent("out.txt")
        let errors = work.appendingPathComponent("err.txt")
        try Data().write(to: output)
        try Data().write(to: errors)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        let lines = String(decoding: try Data(contentsOf: output), as: UTF8.self).split(separator: "\n").map(
            String.init
        )
        if lines.isEmpty {
            Issue.record("check_schemas.py: \(String(decoding: try Data(contentsOf: errors), as: UTF8.self))")
        }
        return lines
    }
}
