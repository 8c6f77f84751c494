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

    // Sizes below, at and past the 4,096-float cache block, and past eight-wide spans.
    @Test(arguments: [2, 8, 16, 4_096, 16_384])
    func cacheBlockedTransformIsTheTextbookOne(_ count: Int) {
        var rng = SeededGenerator(seed: UInt64(count))
        let values = (0..<count).map { _ in Float(Int(rng.next() % 2_001) - 1_000) / 1_000 }
        var transformed = values
        HadamardRotation.transform(&transformed)
        #expect(transformed == Self.reference(values))
    }
}
