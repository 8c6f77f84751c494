import Foundation
import Testing

@testable import Wire

// MARK: - Header editing

extension JSONValue {
    /// A copy with the value at `path` replaced (or removed when `value` is nil); missing keys are added.
    func setting(_ path: ArraySlice<String>, to value: JSONValue?) -> JSONValue? {
        guard let key = path.first else { return value }
        switch self {
        case .object(var members):
            let child = members[key] ?? .null
            members[key] = child.setting(path.dropFirst(), to: value)
            return .object(members)
        case .array(var elements):
            guard let index = Int(key), elements.indices.contains(index) else { return self }
            if let replaced = elements[index].setting(path.dropFirst(), to: value) {
                elements[index] = replaced
            } else {
                elements.remove(at: index)
            }
            return .array(elements)
        default:
            return self
        }
    }

    func setting(_ dottedPath: String, to value: JSONValue?) -> JSONValue {
        setting(dottedPath.split(separator: ".").map(String.init)[...], to: value) ?? .null
    }

    var jsonBytes: [UInt8] {
        (try? Array(WireCodec.makeEncoder().encode(self))) ?? []
    }
}

/// The header of `frames` parsed, edited and re-serialised.
func editingHeader(_ frames: [[UInt8]], _ edit: (JSONValue) -> JSONValue) -> [[UInt8]] {
    var frames = frames
    guard frames.count >= 2, let header = try? JSONParser.parse(frames[1]) else { return frames }
    frames[1] = edit(header).jsonBytes
    return frames
}

/// The failure code of a decode, or nil on success.
func failureCode<T>(_ result: Result<T, WireError>) -> RejectReason? {
    if case .failure(let error) = result { error.code } else { nil }
}

// MARK: - Deterministic randomness

/// SplitMix64: a tiny seeded generator so the fuzz test is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Repository files

enum Repository {
    /// The repository root (holding `schemas/` and `scripts/`), found from this file's real path.
    static var root: URL? {
        var url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("schemas/envelope.schema.json").path) {
                return url
            }
            url.deleteLastPathComponent()
        }
        return nil
    }
}
