import Foundation
import Testing

@testable import Wire

/// The attacker's side of the cheaper unknown-key check (`ShapeEncoder`) and the parser's string
/// fast path: every fixture header, forged with extra keys or nulls at every depth, against the
/// check it replaced (re-encode with `JSONEncoder`, parse, compare).
struct UnknownKeyAttackTests {
    /// The canonical trees the old and the new check compare a header with, from its bytes.
    static func canonicalTrees<B: MessageBody>(
        _ header: [UInt8],
        as type: B.Type
    ) throws -> (old: JSONValue, new: JSONValue) {
        let envelope = try JSONDecoder().decode(Envelope<B>.self, from: Data(header))
        let old = try JSONParser.parse(Array(WireCodec.makeEncoder().encode(envelope)))
        return (old, try ShapeEncoder.shape(of: envelope))
    }

    static func canonicalTrees(_ message: AnyMessage, header: [UInt8]) throws -> (old: JSONValue, new: JSONValue) {
        switch message {
        case .checkin: try canonicalTrees(header, as: Checkin.self)
        case .aggregatorHello: try canonicalTrees(header, as: AggregatorHello.self)
        case .roundOpen: try canonicalTrees(header, as: RoundOpen.self)
        case .update: try canonicalTrees(header, as: Update.self)
        case .partial: try canonicalTrees(header, as: Partial.self)
        case .modelCandidate: try canonicalTrees(header, as: ModelCandidate.self)
        case .auditEvent: try canonicalTrees(header, as: AuditEvent.self)
        case .roundProposal: try canonicalTrees(header, as: RoundProposal.self)
        case .roundVerdict: try canonicalTrees(header, as: RoundVerdict.self)
        case .roundCompleted: try canonicalTrees(header, as: RoundCompleted.self)
        case .roundSummary: try canonicalTrees(header, as: RoundSummary.self)
        case .ledgerEntry: try canonicalTrees(header, as: LedgerEntryMessage.self)
        case .runEnd: try canonicalTrees(header, as: RunEnd.self)
        case .secAggKeys: try canonicalTrees(header, as: SecAggKeys.self)
        case .secAggNeighbours: try canonicalTrees(header, as: SecAggNeighbours.self)
        case .secAggShares: try canonicalTrees(header, as: SecAggShares.self)
        case .secAggMasked: try canonicalTrees(header, as: SecAggMasked.self)
        case .secAggUnmaskRequest: try canonicalTrees(header, as: SecAggUnmaskRequest.self)
        case .secAggUnmaskResponse: try canonicalTrees(header, as: SecAggUnmaskResponse.self)
        }
    }

    /// The unknown key the old check (re-encode, parse) and the new one (shape) each find in a
    /// forged header, or nil when the typed decode already refuses it.
    static func unknownKeys(_ message: AnyMessage, header: [UInt8]) -> (old: String?, new: String?)? {
        guard let document = try? JSONParser.parse(header),
            let trees = try? canonicalTrees(message, header: header)
        else { return nil }
        return (
            document.firstKeyMissing(from: trees.old, path: ""), document.firstKeyMissing(from: trees.new, path: "")
        )
    }

    /// A tree with every leaf replaced by null: what the shape of a value records.
    static func keysOnly(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): .object(members.mapValues(keysOnly))
        case .array(let elements): .array(elements.map(keysOnly))
        default: .null
        }
    }

    /// Every path to an object in `value`, as key/index components, and whether it lies inside
    /// a generic JSON value (`modelSpec`, `detail`), where any key is legitimate.
    static func objectPaths(_ value: JSONValue, _ path: [String] = []) -> [(path: [String], generic: Bool)] {
        let generic = path.contains("modelSpec") || path.contains("detail")
        switch value {
        case .object(let members):
            return [(path, generic)] + members.keys.sorted().flatMap { objectPaths(members[$0] ?? .null, path + [$0]) }
        case .array(let elements):
            return elements.indices.flatMap { objectPaths(elements[$0], path + ["\($0)"]) }
        default:
            return []
        }
    }

    /// Every path to a member of an object, for the null forgeries.
    static func memberPaths(_ value: JSONValue, _ path: [String] = []) -> [[String]] {
        switch value {
        case .object(let members):
            return members.keys.sorted().flatMap { [path + [$0]] + memberPaths(members[$0] ?? .null, path + [$0]) }
        case .array(let elements):
            return elements.indices.flatMap { memberPaths(elements[$0], path + ["\($0)"]) }
        default:
            return []
        }
    }

    static func header(of sample: Sample) throws -> [UInt8] {
        try encode(sample.message)[1]
    }

    @Test(arguments: Fixtures.samples)
    func shapeIsTheKeyTreeOfTheOldReEncode(_ sample: Sample) throws {
        let trees = try Self.canonicalTrees(sample.message, header: try Self.header(of: sample))
        #expect(trees.new == Self.keysOnly(trees.old))
    }

    /// An attacker adds a key to every object of the header in turn (top level, body, nested
    /// settings, array elements, generic values): refused wherever the typed decode would drop
    /// it, accepted inside `modelSpec`/`detail`, and always as the old check decided.
    @Test(arguments: Fixtures.samples)
    func keyInjectedAtAnyDepthIsRefusedOutsideGenericValues(_ sample: Sample) throws {
        var frames = try encode(sample.message)
        let document = try JSONParser.parse(frames[1])
        let codec = WireCodec()
        var rng = SplitMix64(state: 77)
        let payloads: [JSONValue] = [.null, .bool(true), .number(1), .string("x"), .array([]), .object(["a": .null])]
        for (path, generic) in Self.objectPaths(document) {
            let payload = payloads[Int(rng.next() % UInt64(payloads.count))]
            let forged = document.setting((path + ["zz\(rng.next() % 1000)"])[...], to: payload) ?? .null
            frames[1] = forged.jsonBytes
            let accepted = (try? codec.decode(frames).get()) != nil
            let where_ = path.joined(separator: ".")
            #expect(accepted == generic, "\(sample.label): extra key under \"\(where_)\"")
            if let found = Self.unknownKeys(sample.message, header: frames[1]) {
                #expect(found.old == found.new, "\(sample.label): \(where_)")
            }
        }
    }

    /// An attacker sends `null` for each field in turn: a required field fails the typed
    /// decode, an optional one decodes as absent and must still be refused (the schemas never
    /// allow null), except inside generic values where null is a value.
    @Test(arguments: Fixtures.samples)
    func nullForAnyFieldIsRefusedOutsideGenericValues(_ sample: Sample) throws {
        var frames = try encode(sample.message)
        let document = try JSONParser.parse(frames[1])
        let codec = WireCodec()
        for path in Self.memberPaths(document) {
            let generic = path.dropLast().contains("modelSpec") || path.dropLast().contains("detail")
            frames[1] = (document.setting(path[...], to: .null) ?? .null).jsonBytes
            let accepted = (try? codec.decode(frames).get()) != nil
            #expect(!accepted || generic, "\(sample.label): null at \(path.joined(separator: "."))")
            if let found = Self.unknownKeys(sample.message, header: frames[1]) {
                #expect(found.old == found.new, "\(sample.label): \(path)")
            }
        }
    }
}

/// Keys that are canonically equivalent to a schema key but not the same characters.
struct EquivalentKeyAttackTests {
    /// U+212A KELVIN SIGN decomposes to "K": a Swift `String` equals its ASCII twin, so a key
    /// (`maskKeyOwners` of `secagg.unmask.response`, the one schema key with a capital K)
    /// spelt with it would be read as the field by `JSONDecoder` and pass the key check, while
    /// every byte-comparing reader (the schemas, Python) sees an unknown key and a missing one.
    @Test(arguments: ["\\u212a", "\u{212A}"])
    func kelvinSignInAKeyIsNotTheKey(_ spelling: String) throws {
        let sample = try #require(Fixtures.samples.first { $0.label.hasPrefix("secagg.unmask.response") })
        var frames = try encode(sample.message)
        let header = String(decoding: frames[1], as: UTF8.self)
        #expect(header.contains("\"maskKeyOwners\""))
        frames[1] = Array(
            header.replacingOccurrences(of: "\"maskKeyOwners\"", with: "\"mask\(spelling)eyOwners\"").utf8
        )
        #expect(failureCode(WireCodec().decode(frames)) == .malformedHeader)
    }
}
