import Learning
import Testing

@testable import Federation

@Suite struct HadamardRotationTests {
    /// The textbook O(n log n) loop, one span at a time over the whole vector.
    static func reference(_ values: [Float]) -> [Float] {
        var output = values
        var half = 1
        while half < output.count {
            for block in stride(from: 0, to: output.count, by: 2 * half) {
                for index in block..<(block + half) {
                    let (a, b) = (output[index], output[index + half])
                    output[index] = a + b
                    output[index + half] = a - b
                }
            }
            half <<= 1
        }
        let scale = 1 / Float(output.count).squareRoot()
        return output.map { $0 * scale }
    }

    // Sizes below, at and past the 4,096-float cache block, past eight-wide spans, and with the
    // wide spans ending on a pair sweep (2¹⁴, 2²⁰) or on a lone last span (2¹³, 2¹⁵).
    @Test(arguments: [1, 2, 4, 8, 16, 4_096, 8_192, 16_384, 32_768, 1 << 20])
    func cacheBlockedTransformIsTheTextbookOne(_ count: Int) {
        var rng = SeededGenerator(seed: UInt64(count))
        let values = (0..<count).map { _ in Float(Int(rng.next() % 2_001) - 1_000) / 1_000 }
        var transformed = values
        HadamardRotation.transform(&transformed)
        #expect(transformed == Self.reference(values))
    }

    @Test(arguments: [4, 4_096, 32_768])
    func rotationSignsThenTransformsLikeTheTextbook(_ count: Int) {
        var rng = SeededGenerator(seed: UInt64(count) &+ 11)
        let values = (0..<count).map { _ in Float(Int(rng.next() % 2_001) - 1_000) / 1_000 }
        let rotation = HadamardRotation(count: count, seed: 5, roundId: 3)
        var rotated = values
        rotation.rotate(&rotated)
        let signed = zip(values, rotation.signs).map { $0 * $1 }
        #expect(rotated == Self.reference(signed))
        rotation.unrotate(&rotated)
        let error = zip(rotated, values).map { abs($0 - $1) }.max() ?? 0
        #expect(error < 1e-5)
    }
}
