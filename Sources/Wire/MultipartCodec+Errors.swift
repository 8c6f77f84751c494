import Foundation

// How the codec words a refusal: untrusted text made printable, and which field a decoding
// error is about.

extension WireCodec {
    /// A short, printable rendering of untrusted text for error details and logs.
    static func printable(_ text: String) -> String {
        let limit = 64
        var result = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            result +=
                scalar.value >= 0x20 && scalar.value < 0x7F ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
        }
        return "\"\(result)\(text.unicodeScalars.count > limit ? "…" : "")\""
    }

    /// Names the field whose number does not fit its integer type (`"shard": 0.5`).
    ///
    /// Foundation's decoder reports such a number as "The given data was not valid JSON" with an
    /// empty coding path, which sends an operator hunting for a syntax error in a well-formed
    /// header. The header has already parsed as strict JSON, so the culprit is one of its
    /// non-integral or out-of-range numbers: each candidate is replaced by 0 in turn until the
    /// decoder's complaint goes away. Only the rejection path pays for this, and the probes are
    /// capped, so a forged header full of fractions cannot make a receiver decode it many times.
    static func numberMisfit<B: MessageBody>(in document: JSONValue, as type: B.Type, _ error: DecodingError) -> String?
    {
        guard case .dataCorrupted(let context) = error, context.codingPath.isEmpty else { return nil }
        var candidates: [[String]] = []
        func collect(_ value: JSONValue, _ path: [String]) {
            guard candidates.count < 8 else { return }
            switch value {
            case .number(let number) where number.rounded() != number || abs(number) >= 0x1p63:
                candidates.append(path)
            case .object(let members) where path != ["body", "modelSpec"] && path != ["body", "detail"]:
                for key in members.keys.sorted() { collect(members[key] ?? .null, path + [key]) }
            case .array(let elements):
                for (index, element) in elements.enumerated() { collect(element, path + ["\(index)"]) }
            default:
                return
            }
        }
        collect(document, [])
        for path in candidates {
            guard let probe = try? JSONEncoder().encode(document.replacing(at: path[...], with: .number(0))) else {
                continue
            }
            do {
                _ = try JSONDecoder().decode(Envelope<B>.self, from: probe)
            } catch let probeError as DecodingError {
                if case .dataCorrupted(let other) = probeError, other.codingPath.isEmpty { continue }
            } catch {
                continue
            }
            return "\(path.joined(separator: ".")): expected an integer that fits in 64 bits"
        }
        return nil
    }

    static func describe(_ error: DecodingError) -> String {
        func location(_ path: [any CodingKey]) -> String {
            path.isEmpty
                ? "header" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(location(context.codingPath + [key])): missing"
        case .typeMismatch(let type, let context):
            return "\(location(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(location(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            return "\(location(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "header: \(error)"
        }
    }
}

extension JSONValue {
    /// This value with the element at `path` (object keys, array indices as text) replaced.
    fileprivate func replacing(at path: ArraySlice<String>, with replacement: JSONValue) -> JSONValue {
        guard let key = path.first else { return replacement }
        switch self {
        case .object(var members):
            members[key] = (members[key] ?? .null).replacing(at: path.dropFirst(), with: replacement)
            return .object(members)
        case .array(var elements):
            guard let index = Int(key), elements.indices.contains(index) else { return self }
            elements[index] = elements[index].replacing(at: path.dropFirst(), with: replacement)
            return .array(elements)
        default:
            return self
        }
    }
}
