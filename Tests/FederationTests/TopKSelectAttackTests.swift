import Learning
import Testing
import Wire

@testable import Federation

/// The radix-select top-k and the residual from levels, against a sort and the decoder, on the
/// vectors most likely to break a bit-pattern select: every finite bit pattern (denormals, ±0,
/// the extremes, ±∞), magnitudes that share their high 16 bits, and k at both ends.
struct TopKSelectAttackTests {
    /// The k largest magnitudes by a sort, ties to the lower index, ascending.
    static func sorted(_ k: Int, of values: [Float]) -> [Int] {
        values.indices
            .sorted { a, b in
                values[a].magnitude != values[b].magnitude ? values[a].magnitude > values[b].magnitude : a < b
            }
            .prefix(k).sorted()
    }

    /// Random non-NaN floats of every exponent, and a crowd in one 16-bit bucket.
    static func awkward(_ d: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let bucket = Float(1.5).bitPattern & 0xFFFF_0000
        return (0..<d).map { index in
            let bits = UInt32(truncatingIfNeeded: rng.next())
            switch index % 4 {
            case 0: return Float(bitPattern: bucket | (bits & 0x8000_FFFF))
            case 1: return Float(bitPattern: bits & 0x807F_FFFF)  // ±0 and denormals
            case 2: return [Float.infinity, -.infinity, .greatestFiniteMagnitude, -0.0][Int(bits % 4)]
            default:
                let value = Float(bitPattern: bits)
                return value.isNaN ? 1 : value
            }
        }
    }

    @Test(arguments: [2, 3, 17, 256, 4_099])
    func radixSelectMatchesASortOnEveryKindOfFloat(_ d: Int) {
        for seed in UInt64(1)...3 {
            let values = Self.awkward(d, seed: seed)
            for k in Set([1, 2, d / 2, d - 2, d - 1]) where k >= 1 && k < d {
                #expect(UpdateEncoder.largest(k, of: values) == Self.sorted(k, of: values), "d \(d), k \(k)")
            }
        }
    }

    /// Every value in one high bucket but the first, so the rank falls in the low pass.
    @Test func rankInsideOneCrowdedBucketIsExact() {
        let base = Float(3).bitPattern & 0xFFFF_0000
        let values = [Float(1e-3)] + (0..<5_000).map { Float(bitPattern: base | UInt32($0 * 13 % 65_536)) }
        for k in [1, 7, 2_500, 4_999, 5_000] {
            #expect(UpdateEncoder.largest(k, of: values) == Self.sorted(k, of: values), "k \(k)")
        }
        #expect(UpdateEncoder.largest(0, of: values).isEmpty)
        #expect(UpdateEncoder.largest(values.count, of: values) == Array(values.indices))
    }

    /// q4 with an odd number of kept values (the last high nibble is padding) and randk: the
    /// residual is bit for bit delta − decode(tensors), and the decoder accepts the frames.
    @Test(arguments: ["topk:0.1,q4", "topk:0.5,q4", "randk:0.3,q4", "topk:0.05,q8", "randk:0.3"])
    func residualFromLevelsIsExactForOddCounts(_ text: String) throws {
        var odd = false
        for d in [21, 999] {
            let plan = try CompressionTests.plan(text, d: d)
            let x = CompressionTests.vector(d, seed: UInt64(d))
            var rng = SeededGenerator(seed: 8)
            let (tensors, residual) = UpdateEncoder(plan: plan).encode(x, using: &rng)
            let decoded = try UpdateDecoder(plan: plan).decode(tensors).get()
            #expect(residual.map(\.bitPattern) == zip(x, decoded).map { ($0 - $1).bitPattern }, "\(text), d \(d)")
            #expect(residual.contains { $0 != 0 })
            odd = odd || plan.valueCount % 2 == 1
        }
        #expect(odd || !text.contains("q4"), "an odd number of 4-bit values was encoded")
    }
}
