import Foundation
import Testing
import Wire

@testable import SecureAggregation

/// The `secagg.*` bodies: what the protocol produces encodes, validates against the schemas in
/// schemas/, and converts back to the same values.
@Suite(.timeLimit(.minutes(2)))
struct SecAggWireTests {
    struct Header<Body: Decodable>: Decodable { let body: Body }

    /// Encodes through the codec (which validates), then reads the body back from frame 1 the
    /// way a peer would once the topics are registered.
    static func roundTrip<Body: MessageBody>(
        _ body: Body,
        tensors: [Tensor] = [],
        headers: inout [[UInt8]]
    ) throws -> Body {
        let frames = try WireCodec().encode(body, sender: "watch-0", tensors: tensors)
        #expect(frames[0] == Array(Body.topic.rawValue.utf8))
        headers.append(frames[1])
        let decoded = try JSONDecoder().decode(Header<Body>.self, from: Data(frames[1])).body
        try decoded.validate()
        return decoded
    }

    @Test func everyStageRoundTripsAndMatchesItsSchema() throws {
        var round = try ManualRound(devices: 8, degree: 4, threshold: 2, seed: 51, signed: true)
        var headers: [[UInt8]] = []
        let keys = try round.client("watch-0").advertisedKeys()
        let keysBack = try Self.roundTrip(SecAggKeys(roundId: 1, shard: 0, keys: keys.wire), headers: &headers)
        #expect(AdvertisedKeys(wire: keysBack.keys) == keys)

        let announcements = try round.advertise()
        let (id, announcement) = try #require(announcements.sorted { $0.key < $1.key }.first)
        let announced = try #require(announcement.wire(roundId: 1, shard: 0, recipient: id))
        #expect(NeighbourAnnouncement(wire: try Self.roundTrip(announced, headers: &headers)) == announcement)

        let forwarded = try round.share(announcements)
        let shares = try #require(forwarded[id])
        let sharesBack = try Self.roundTrip(
            SecAggShares(roundId: 1, shard: 0, shares: shares.map(\.wire)),
            headers: &headers
        )
        #expect(sharesBack.shares.compactMap(EncryptedShare.init(wire:)) == shares)

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
        let requestBack = try Self.roundTrip(request.wire(roundId: 1, shard: 0, recipient: id), headers: &headers)
        #expect(UnmaskRequest(wire: requestBack) == request)
        var device = try round.client(id)
        let response = try device.unmaskRequested(request)
        let responseBack = try Self.roundTrip(response.wire(roundId: 1, shard: 0), headers: &headers)
        #expect(UnmaskResponse(wire: responseBack) == response)

        // The schemas refuse what the decoder refuses: a key that is not lowercase hex.
        let broken = Array(
            String(decoding: headers[0], as: UTF8.self).replacingOccurrences(
                of: keysBack.keys.maskPublicKey,
                with: keysBack.keys.maskPublicKey.uppercased()
            ).utf8
        )
        let verdicts = try Self.checkSchemas(headers + [broken])
        #expect(verdicts.count == headers.count + 1)
        #expect(verdicts.dropLast().allSatisfy { $0.hasPrefix("OK") }, "\(verdicts)")
        #expect(verdicts.last?.hasPrefix("FAIL") == true)
    }

    @Test func malformedFieldsAreRefusedByTheBodyOrTheConversion() throws {
        let key = String(repeating: "ab", count: 32)
        let field = SecAggKeysField(cipherPublicKey: key, maskPublicKey: key, seedCommitment: String(key.dropLast()))
        #expect(throws: WireError.self) { try SecAggKeys(roundId: 1, shard: 0, keys: field).validate() }
        let upper = SecAggKeysField(cipherPublicKey: key.uppercased(), maskPublicKey: key, seedCommitment: key)
        #expect(throws: WireError.self) { try SecAggKeys(roundId: 1, shard: 0, keys: upper).validate() }
        #expect(throws: WireError.self) { try SecAggMasked(roundId: 1, shard: 0, modulusBits: 63).validate() }
        let repeated = SecAggShareField(sender: "a", recipient: "b", ciphertext: String(repeating: "0", count: 344))
        #expect(throws: WireError.self) {
            try SecAggShares(roundId: 1, shard: 0, shares: [repeated, repeated]).validate()
        }
        let tooMany = (0...SecAggWireLimits.maxDegree).map { "w\($0)" }
        #expect(throws: WireError.self) {
            try SecAggUnmaskRequest(roundId: 1, shard: 0, recipient: "a", survivors: tooMany, dropped: []).validate()
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
        #expect(SecAggWireLimits.ciphertextHexLength == 2 * EncryptedShare.ciphertextByteCount)
        #expect(SecAggWireLimits.shareHexLength == 2 * ShamirShare.byteCount)
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
