import Foundation
import Testing

@testable import Wire

/// `encodeSecAgg` writes `secagg.*` headers without `JSONEncoder`; every byte must be what the
/// general `encode` writes, and every refusal the one it throws.
@Suite struct SecAggWriterTests {
    static func framed(_ message: AnyMessage) -> (any SecAggHeaderBody, String, Int64?, [Tensor])? {
        switch message {
        case .secAggKeys(let m): (m.body, m.sender, m.sentAtMillis, m.tensors)
        case .secAggNeighbours(let m): (m.body, m.sender, m.sentAtMillis, m.tensors)
        case .secAggShares(let m): (m.body, m.sender, m.sentAtMillis, m.tensors)
        case .secAggMasked(let m): (m.body, m.sender, m.sentAtMillis, m.tensors)
        case .secAggUnmaskRequest(let m): (m.body, m.sender, m.sentAtMillis, m.tensors)
        case .secAggUnmaskResponse(let m): (m.body, m.sender, m.sentAtMillis, m.tensors)
        default: nil
        }
    }

    static func both<B: SecAggHeaderBody>(
        _ body: B,
        sender: String,
        sentAtMillis: Int64?,
        tensors: [Tensor]
    ) -> (fast: Result<[[UInt8]], WireError>, general: Result<[[UInt8]], WireError>, wrote: Bool) {
        let codec = WireCodec()
        let fast = Result { () throws(WireError) in
            try codec.encodeSecAgg(body, sender: sender, sentAtMillis: sentAtMillis, tensors: tensors)
        }
        let general = Result { () throws(WireError) in
            try codec.encode(body, sender: sender, sentAtMillis: sentAtMillis, tensors: tensors)
        }
        let wrote = codec.secAggHeader(body, sender: sender, sentAtMillis: sentAtMillis, tensors: tensors) != nil
        return (fast, general, wrote)
    }

    /// Every `secagg.*` fixture, with and without a send time and with long and short numbers,
    /// comes out byte-identical, and from the writer itself (not from the fallback).
    @Test func everySecAggFixtureIsByteIdenticalToJSONEncoder() throws {
        var compared = 0
        for sample in Fixtures.samples {
            guard let (body, sender, _, tensors) = Self.framed(sample.message) else { continue }
            for sentAt: Int64? in [nil, 0, 1_764_600_000_123, Int64.max] {
                func check<B: SecAggHeaderBody>(_ body: B) throws {
                    let (fast, general, wrote) = Self.both(body, sender: sender, sentAtMillis: sentAt, tensors: tensors)
                    #expect(wrote, "\(sample.label) fell back to JSONEncoder")
                    #expect(try fast.get() == general.get(), "\(sample.label) sentAt \(String(describing: sentAt))")
                }
                try check(body)
                compared += 1
            }
        }
        #expect(compared >= 4 * 8)
    }

    /// Big and negative-free numbers, many ids, ids with every allowed punctuation character
    /// (`/` is not escaped: `.withoutEscapingSlashes`).
    @Test func idsAndNumbersAtTheirEdgesAreByteIdentical() throws {
        let ids = (0..<40).map { "E/device-\($0).x:y@z+w_\($0)" }
        let body = SecAggNeighbours(
            roundId: Int.max,
            shard: 1_023,
            recipient: "a/b",
            ownPoint: 1 << 31,
            neighbours: ids
        )
        let points = SecAggRecords.frame("points", [UInt8](repeating: 1, count: 4 * ids.count))
        let keys = SecAggRecords.frame("keys", [UInt8](repeating: 2, count: 96 * ids.count))
        let (fast, general, wrote) = Self.both(body, sender: "agg-watch-0", sentAtMillis: 5, tensors: [points, keys])
        #expect(wrote)
        #expect(try fast.get() == general.get())
        let header = try String(decoding: fast.get()[1], as: UTF8.self)
        #expect(header.contains("\"recipient\":\"a/b\""))
    }

    /// What the writer cannot vouch for goes to `encode`, so the refusal is the general one.
    @Test func whatDoesNotValidateGetsTheGeneralRefusal() throws {
        let cases: [(String, any SecAggHeaderBody, String, [Tensor])] = [
            ("bad sender", SecAggKeys(roundId: 1, shard: 0), "w 1", []),
            ("bad body", SecAggKeys(roundId: 0, shard: 0), "w-1", []),
            (
                "repeated frame name", SecAggKeys(roundId: 1, shard: 0), "w-1",
                [SecAggRecords.frame("keys", [1]), SecAggRecords.frame("keys", [2])]
            ),
            (
                "f32 frame", SecAggMasked(roundId: 1, shard: 0, modulusBits: 20), "w-1",
                [.f32le(name: "masked", [1, 2])]
            ),
            (
                "ubits too short", SecAggMasked(roundId: 1, shard: 0, modulusBits: 20), "w-1",
                [.encoded(name: "masked", encoding: .packedBits, bytes: [1], elementCount: 16)]
            ),
        ]
        for (label, body, sender, tensors) in cases {
            func check<B: SecAggHeaderBody>(_ body: B) throws {
                let (fast, general, wrote) = Self.both(body, sender: sender, sentAtMillis: 1, tensors: tensors)
                if label == "f32 frame" {
                    // Valid, but not a shape the writer knows: the general path writes it.
                    #expect(!wrote)
                    #expect(try fast.get() == general.get())
                    return
                }
                #expect(!wrote, "\(label)")
                #expect(failure(fast) != nil, "\(label) was encoded")
                #expect(failure(fast) == failure(general), "\(label)")
            }
            try check(body)
        }
    }

    func failure(_ result: Result<[[UInt8]], WireError>) -> WireError? {
        if case .failure(let error) = result { return error }
        return nil
    }
}
