import Testing

@testable import Wire

/// Seeded, deterministic fuzzing of the decoder with random and mutated multipart messages.
struct FuzzTests {
    /// JSON values that probe types, signs, bounds and lengths; also used by the schema tests.
    static let palette: [JSONValue] = [
        .null, .bool(true), .bool(false), .number(0), .number(1), .number(-1), .number(2), .number(0.5),
        .number(1.5), .number(101), .number(1e300), .number(1e19), .string(""), .string("x"), .string("watch"),
        .string("f32le"), .string(String(repeating: "é", count: 129)), .string("tcp://h:1"), .array([]),
        .array([.string("a"), .string("a")]), .array([.string("a")]), .object([:]), .object(["k": .number(1)]),
    ]

    /// Small limits, so the size checks are reached by mutations as well.
    static let codec = WireCodec(
        limits: WireLimits(maxHeaderBytes: 4096, maxTensors: 4, maxElementsPerTensor: 1024, maxTotalBytes: 65_536)
    )

    @Test func mutatedMessagesNeverTrapAndFailOnlyWithCodecReasons() throws {
        var rng = SplitMix64(state: 0x00FE_D9A1_5E00_0001)
        let bases = try Fixtures.samples.map { sample throws(WireError) in try encode(sample.message) }
        var seen: [RejectReason: Int] = [:]
        var accepted = 0
        for iteration in 0..<3000 {
            let base = bases[Int.random(in: 0..<bases.count, using: &rng)]
            let frames = Self.mutate(base, using: &rng)
            switch Self.codec.decode(frames) {
            case .success(let message):
                accepted += 1
                // Whatever the decoder accepts, the encoder must accept and reproduce.
                do {
                    let again = try encode(message, with: Self.codec)
                    #expect(Self.codec.decode(again) == .success(message), "iteration \(iteration)")
                } catch {
                    Issue.record("iteration \(iteration): accepted message does not re-encode: \(error)")
                }
            case .failure(let error):
                #expect(RejectReason.codecReasons.contains(error.code), "iteration \(iteration): \(error)")
                #expect(!error.detail.isEmpty)
                seen[error.code, default: 0] += 1
            }
        }
        // The mutations must reach deep into the decoder, not stop at the first check.
        #expect(accepted > 50)
        #expect(
            Set(seen.keys).isSuperset(of: [
                .malformedHeader, .unknownTopic, .topicMismatch, .schemaMismatch, .frameCountMismatch,
                .byteLengthMismatch,
                .oversized,
            ]),
            "reasons seen: \(seen)"
        )
    }

    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64(state: 42)
        for _ in 0..<2000 {
            let frameCount = Int.random(in: 0...5, using: &rng)
            var frames = (0..<frameCount).map { _ in Self.randomBytes(using: &rng) }
            if frameCount > 0, Bool.random(using: &rng) {
                frames[0] = Array(Topic.known[Int.random(in: 0..<Topic.known.count, using: &rng)].rawValue.utf8)
            }
            if case .failure(let error) = Self.codec.decode(frames) {
                #expect(RejectReason.codecReasons.contains(error.code))
            } else {
                Issue.record("random bytes decoded as a message: \(frames)")
            }
        }
    }

    // MARK: - Mutations

    static func mutate(_ original: [[UInt8]], using rng: inout SplitMix64) -> [[UInt8]] {
        var frames = original
        for _ in 0..<Int.random(in: 1...2, using: &rng) {
            let target = frames.isEmpty ? 0 : Int.random(in: 0..<frames.count, using: &rng)
            switch Int.random(in: 0..<14, using: &rng) {
            case 0 where !frames.isEmpty && !frames[target].isEmpty:
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let byte = Int.random(in: 0..<frames[target].count, using: &rng)
                    frames[target][byte] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                }
            case 1 where !frames.isEmpty:
                frames[target] = Array(frames[target].prefix(Int.random(in: 0...frames[target].count, using: &rng)))
            case 2 where !frames.isEmpty:
                frames.remove(at: target)
            case 3 where !frames.isEmpty:
                frames.insert(frames[target], at: Int.random(in: 0...frames.count, using: &rng))
            case 4 where frames.count >= 2:
                frames.swapAt(target, Int.random(in: 0..<frames.count, using: &rng))
            case 5 where !frames.isEmpty:
                frames[target] = randomBytes(using: &rng)
            case 6 where frames.count >= 2 && !frames[1].isEmpty:
                let at = Int.random(in: 0..<frames[1].count, using: &rng)
                let length = Int.random(in: 0...min(8, frames[1].count - at), using: &rng)
                frames[1].replaceSubrange(at..<(at + length), with: randomBytes(using: &rng).prefix(4))
            case 7 where !frames.isEmpty:
                frames += Array(repeating: frames[target], count: Int.random(in: 1...6, using: &rng))
            case 8 where frames.count >= 2:
                frames[1] += Array(repeating: 0x20, count: Int.random(in: 1...5000, using: &rng))
            default:
                frames = editingHeader(frames) { randomEdit(of: $0, using: &rng) }
            }
        }
        return frames
    }

    static func randomBytes(using rng: inout SplitMix64) -> [UInt8] {
        (0..<Int.random(in: 0...48, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Deletes, replaces or adds one field anywhere in the header tree.
    static func randomEdit(
        of header: JSONValue,
        using rng: inout SplitMix64,
        excluding excluded: Set<String> = []
    ) -> JSONValue {
        // An exclusion is a dotted path prefix: `tensors`, or `body.secureAggregation.` (inside only).
        let paths = allPaths(of: header).filter { path in
            !excluded.contains(where: { path.joined(separator: ".").hasPrefix($0) })
        }
        guard !paths.isEmpty else { return header }
        let path = paths[Int.random(in: 0..<paths.count, using: &rng)]
        let value = palette[Int.random(in: 0..<palette.count, using: &rng)]
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return header.setting(path[...], to: nil) ?? header
        case 1: return header.setting(path[...] + ["unexpected"], to: value) ?? header
        default: return header.setting(path[...], to: value) ?? header
        }
    }

    /// Every path to a value in the tree (object keys sorted, array indices as strings).
    static func allPaths(of value: JSONValue, prefix: [String] = []) -> [[String]] {
        switch value {
        case .object(let members):
            members.keys.sorted().flatMap { key in
                [prefix + [key]] + allPaths(of: members[key] ?? .null, prefix: prefix + [key])
            }
        case .array(let elements):
            elements.indices.flatMap { index in
                [prefix + [String(index)]] + allPaths(of: elements[index], prefix: prefix + [String(index)])
            }
        default:
            []
        }
    }
}
