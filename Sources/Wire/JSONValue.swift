import Foundation

/// A JSON value whose shape Wire does not own (`round.open`'s `modelSpec`, `audit.event`'s `detail`).
///
/// The learning module owns the model spec's fields; carrying it as a generic value keeps Wire
/// free of that dependency while the header stays one JSON document. Numbers are `Double`:
/// integers above 2^53 lose precision, so put such values (seeds, hashes) in strings.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Converts a `Codable` value (a model spec, say) into a JSON value for a message body.
    ///
    /// Fails with `malformedHeader` for values JSON cannot hold (NaN, infinities).
    public init(encoding value: some Encodable) throws(WireError) {
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw .malformed("value is not representable as JSON: \(error)")
        }
        self = try JSONParser.parse(Array(data))
    }

    /// Converts this value back into a `Codable` type, e.g. the learning module's model spec.
    public func decoded<T: Decodable>(as type: T.Type) throws(WireError) -> T {
        do {
            let data = try JSONEncoder().encode(self)
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw .malformed("JSON value is not a \(T.self): \(error)")
        }
    }

    /// True for a finite-number-only tree; JSON cannot carry NaN or infinities.
    var isFinite: Bool {
        switch self {
        case .null, .bool, .string: true
        case .number(let value): value.isFinite
        case .array(let values): values.allSatisfy(\.isFinite)
        case .object(let members): members.values.allSatisfy(\.isFinite)
        }
    }

    /// The path of the first object key present here but absent in `canonical`, if any.
    ///
    /// The codec decodes with `JSONDecoder`, which ignores unknown keys; comparing the received
    /// document with the re-encoded value finds them, so "additionalProperties: false" in the
    /// schemas holds for this decoder too.
    func firstKeyMissing(from canonical: JSONValue, path: String) -> String? {
        switch (self, canonical) {
        case (.object(let received), .object(let known)):
            for key in received.keys.sorted() {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                // The same characters, not only an equal `String`: Swift compares by canonical
                // equivalence, so "\u{212A}" (KELVIN SIGN) would match a schema key's "K" here
                // and in `JSONDecoder`, while the schemas and every other reader see another key.
                guard let slot = known.index(forKey: key), known[slot].key.utf8.elementsEqual(key.utf8),
                    let receivedChild = received[key]
                else { return childPath }
                let knownChild = known[slot].value
                if let missing = receivedChild.firstKeyMissing(from: knownChild, path: childPath) {
                    return missing
                }
            }
            return nil
        case (.array(let received), .array(let known)):
            for (index, element) in received.enumerated() {
                let childPath = "\(path)[\(index)]"
                guard index < known.count else { return childPath }
                if let missing = element.firstKeyMissing(from: known[index], path: childPath) {
                    return missing
                }
            }
            return nil
        default:
            return nil
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }
}
