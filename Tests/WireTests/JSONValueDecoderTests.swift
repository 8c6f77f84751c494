import Foundation
import Testing

@testable import Wire

/// The one-parse header decoder must decode every honest header to what `JSONDecoder` decodes,
/// and step aside (so `JSONDecoder` answers) wherever it could differ.
struct JSONValueDecoderTests {
    func sameAsJSONDecoder<B: MessageBody>(_ message: Message<B>, _ label: String) throws {
        let frames = try WireCodec().encode(message)
        let document = try JSONParser.parse(frames[1])
        let fast = try JSONValueDecoder.decode(Envelope<B>.self, from: document)
        let slow = try JSONDecoder().decode(Envelope<B>.self, from: Data(frames[1]))
        let encoder = WireCodec.makeEncoder()
        #expect(try encoder.encode(fast) == encoder.encode(slow), "\(label)")
        // The read audit lets the codec skip the unknown-key check only where that check finds
        // nothing, and an honest header (no null anywhere) always gets to skip it.
        let audited = try JSONValueDecoder.decodeAuditingReads(Envelope<B>.self, from: document)
        let nothingUnknown = document.firstKeyMissing(from: try ShapeEncoder.shape(of: slow), path: "") == nil
        #expect(!audited.readEveryMember || nothingUnknown, "\(label)")
        #expect(audited.readEveryMember == !Self.containsNull(document), "\(label)")
    }

    static func containsNull(_ value: JSONValue) -> Bool {
        switch value {
        case .null: true
        case .array(let elements): elements.contains(where: containsNull)
        case .object(let members): members.values.contains(where: containsNull)
        default: false
        }
    }

    struct Settings: Decodable {
        var name: String
        var limit: Int?
        var tags: [String]
    }

    func audited(_ text: String) throws -> Bool? {
        let document = try JSONParser.parse(Array(text.utf8))
        return try? JSONValueDecoder.decodeAuditingReads(Settings.self, from: document).readEveryMember
    }

    /// What the audit must not call complete: a key the type never reads, a null, a key that
    /// only matches under Unicode equivalence; an optional left out is complete (nothing unread).
    @Test func theReadAuditIsCompleteOnlyWhenEveryMemberWasRead() throws {
        #expect(try audited(#"{"name":"a","limit":1,"tags":["x","y"]}"#) == true)
        #expect(try audited(#"{"name":"a","tags":[]}"#) == true)
        #expect(try audited(#"{"name":"a","tags":[],"extra":1}"#) == false)
        #expect(try audited(#"{"name":"a","limit":null,"tags":[]}"#) == false)
        #expect(try audited(#"{"name":"a","tags":["x",null]}"#) == nil)  // a null String: unsure
        #expect(try audited(#"{"n\u0061me":"a","tags":[]}"#) == true)  // the same characters, escaped
        #expect(try audited("{\"name\":\"a\",\"tags\":[],\"\u{212A}\":1}") == false)
    }

    @Test func everySampleHeaderDecodesInOneParseToJSONDecodersValue() throws {
        for sample in Fixtures.samples {
            switch sample.message {
            case .checkin(let m): try sameAsJSONDecoder(m, sample.label)
            case .aggregatorHello(let m): try sameAsJSONDecoder(m, sample.label)
            case .roundOpen(let m): try sameAsJSONDecoder(m, sample.label)
            case .update(let m): try sameAsJSONDecoder(m, sample.label)
            case .partial(let m): try sameAsJSONDecoder(m, sample.label)
            case .modelCandidate(let m): try sameAsJSONDecoder(m, sample.label)
            case .auditEvent(let m): try sameAsJSONDecoder(m, sample.label)
            case .roundProposal(let m): try sameAsJSONDecoder(m, sample.label)
            case .roundVerdict(let m): try sameAsJSONDecoder(m, sample.label)
            case .roundCompleted(let m): try sameAsJSONDecoder(m, sample.label)
            case .roundSummary(let m): try sameAsJSONDecoder(m, sample.label)
            case .ledgerEntry(let m): try sameAsJSONDecoder(m, sample.label)
            case .runEnd(let m): try sameAsJSONDecoder(m, sample.label)
            case .secAggKeys(let m): try sameAsJSONDecoder(m, sample.label)
            case .secAggNeighbours(let m): try sameAsJSONDecoder(m, sample.label)
            case .secAggShares(let m): try sameAsJSONDecoder(m, sample.label)
            case .secAggMasked(let m): try sameAsJSONDecoder(m, sample.label)
            case .secAggUnmaskRequest(let m): try sameAsJSONDecoder(m, sample.label)
            case .secAggUnmaskResponse(let m): try sameAsJSONDecoder(m, sample.label)
            }
        }
    }

    struct Numbers: Decodable {
        var count: Int
        var small: UInt8?
        var ratio: Double?
        var level: Float?
    }

    func fast(_ text: String) -> Numbers? {
        guard let document = try? JSONParser.parse(Array(text.utf8)) else { return nil }
        return try? JSONValueDecoder.decode(Numbers.self, from: document)
    }

    /// Integral spellings decode as `JSONDecoder` decodes them; what a parsed `Double` could
    /// have rounded, any `Float`, an out-of-range or fractional integer and a missing key step
    /// aside for `JSONDecoder`.
    @Test func numbersItCannotBeSureOfAreLeftToJSONDecoder() throws {
        #expect(fast(#"{"count":1.0}"#)?.count == 1)
        #expect(fast(#"{"count":1e2}"#)?.count == 100)
        #expect(fast(#"{"count":-0,"ratio":0.25}"#)?.ratio == 0.25)
        #expect(throws: WireError.self, "a non-zero number that rounds to 0 is out of range") {
            try JSONParser.parse(Array(#"{"count":1e-400}"#.utf8))
        }
        #expect(fast(#"{"count":0e5,"ratio":5e-324}"#)?.ratio == .leastNonzeroMagnitude)
        for unsure in [
            #"{"count":9007199254740993}"#, #"{"count":1.5}"#, #"{"count":1,"small":256}"#,
            #"{"count":1,"level":0.5}"#, #"{"small":1}"#, #"{"count":"1"}"#,
        ] {
            #expect(fast(unsure) == nil, "\(unsure)")
        }
    }
}
