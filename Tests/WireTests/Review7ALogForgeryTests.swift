import Foundation
import Testing

@testable import Wire

/// A sender forges log lines through the detail of its own rejection.
///
/// Every role logs a refusal's detail as `reject.detail=…` through swift-log's stream handler,
/// which writes a value as it is: a newline in the detail starts a line the attacker wrote
/// (`lab status` greps `round.id=` out of those logs). Ids are a closed character set since the
/// first log-forgery fix; these are the other places an attacker's text reached a detail.
struct Review7ALogForgeryTests {
    static let forged = "\\n2026-12-01T00:00:00+0000 info fedpulse.shard : round.id=999 [Rounds] round completed"

    static func checkin() throws -> [[UInt8]] {
        try WireCodec().encode(
            Checkin(
                workerId: "watch-1",
                deviceClass: .watch,
                eligibility: Eligibility(consent: true, charging: true, unmetered: true, batteryPercent: 90),
                trainExamples: 1,
                holdoutExamples: 1
            ),
            sender: "watch-1"
        )
    }

    static func hello() throws -> [[UInt8]] {
        try WireCodec().encode(
            AggregatorHello(
                aggregatorId: "region-watch-0",
                tier: .region,
                region: .watch,
                shard: 0,
                endpoint: "tcp://127.0.0.1:7100",
                sequence: 0,
                intervalMillis: 200
            ),
            sender: "region-watch-0"
        )
    }

    /// The header with `old` replaced by `new` (JSON text), as the attacker sends it.
    static func edited(_ frames: [[UInt8]], replacing old: String, with new: String) throws -> [[UInt8]] {
        let header = String(decoding: frames[1], as: UTF8.self)
        #expect(header.contains(old), "the fixture header holds \(old)")
        var edited = frames
        edited[1] = Array(header.replacingOccurrences(of: old, with: new).utf8)
        return edited
    }

    enum Vector: String, CaseIterable {
        /// A key given twice: the parser's "duplicate key" names it.
        case duplicateKey
        /// An enum value Foundation refuses: its message quotes the value.
        case enumValue
        /// An endpoint that is not one: the check quotes it.
        case endpoint
        /// A megabyte key given twice: one rejection, one megabyte log line.
        case hugeDuplicateKey
    }

    @Test(arguments: Vector.allCases)
    func aRejectionDetailCarriesNoLineTheSenderWrote(_ vector: Vector) throws {
        let frames: [[UInt8]]
        switch vector {
        case .duplicateKey:
            let key = "\"x\(Self.forged)\""
            frames = try Self.edited(
                try Self.checkin(),
                replacing: "{\"body\":{",
                with: "{\"body\":{\(key):1,\(key):2,"
            )
        case .enumValue:
            frames = try Self.edited(
                try Self.checkin(),
                replacing: "\"deviceClass\":\"watch\"",
                with: "\"deviceClass\":\"watch\(Self.forged)\""
            )
        case .endpoint:
            frames = try Self.edited(
                try Self.hello(),
                replacing: "\"tcp://127.0.0.1:7100\"",
                with: "\"tcp://127.0.0.1:7100\(Self.forged)\""
            )
        case .hugeDuplicateKey:
            let key = "\"" + String(repeating: "k", count: 400_000) + "\""
            frames = try Self.edited(
                try Self.checkin(),
                replacing: "{\"body\":{",
                with: "{\"body\":{\(key):1,\(key):2,"
            )
        }
        let result = WireCodec().decode(frames)
        guard case .failure(let error) = result else {
            Issue.record("the forged header was accepted: \(result)")
            return
        }
        #expect(error.code == .malformedHeader)
        let controls = error.detail.unicodeScalars.filter { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
        #expect(controls.isEmpty, "detail holds \(controls.count) control characters: \(error.detail.prefix(200))")
        #expect(error.detail.utf8.count <= 2_048, "detail of \(error.detail.utf8.count) bytes")
        if vector != .hugeDuplicateKey {
            #expect(!error.detail.contains("round.id="), "no key=value field of the sender's on the line")
            #expect(error.detail.contains("round.id\\u{3d}999"), "the offending text is still shown, escaped")
        }
    }
}
