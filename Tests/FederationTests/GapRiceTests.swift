import Learning
import Testing

@testable import Federation
@testable import Wire

@Suite struct GapRiceTests {
    static func decode(_ bytes: [UInt8], count: Int, bound: Int) -> RejectReason? {
        if case .failure(let error) = GapRice.decode(bytes, count: count, bound: bound) { error.code } else { nil }
    }

    @Test(arguments: [
        [Int](),
        [0],
        [5],
        [0, 1, 2, 3],
        [3, 17, 18, 1_000, 99_999],
        Array(stride(from: 0, to: 100_000, by: 10)),
        Array(stride(from: 7, to: 100_000, by: 977)),
    ])
    func roundTripsAnyIncreasingSet(_ indices: [Int]) throws {
        let bytes = GapRice.encode(indices)
        #expect(try GapRice.decode(bytes, count: indices.count, bound: 100_000).get() == indices)
        // The frame's declared length range holds for what the encoder writes.
        let lengths = try #require(TensorEncoding.gapRice.byteLengths(elements: indices.count))
        #expect(lengths.contains(bytes.count))
    }

    @Test func costsUnderSixBitsPerIndexAtTenPercent() {
        var rng = SeededGenerator(seed: 11)
        let indices = (0..<100_000).filter { _ in rng.next() % 10 == 0 }
        let bytes = GapRice.encode(indices)
        // gapvarint spends 8 bits on each of these gaps; Rice about 5.
        #expect(Double(bytes.count * 8) / Double(indices.count) < 6)
        #expect(bytes.count < GapVarint.encode(indices).count * 3 / 4)
    }

    @Test func hostileFramesAreRejectedWithReasons() {
        // k = 1; indices 1 and 3: gaps 2, 2 → values 1, 1 → quotient 0 (bit 0) + low bit 1: "01 01" → 0b0101_0000.
        #expect(Self.decode([1, 0b0101_0000], count: 2, bound: 4) == nil)
        #expect(Self.decode([], count: 2, bound: 4) == .byteLengthMismatch)  // no parameter
        #expect(Self.decode([31, 0], count: 1, bound: 4) == .byteLengthMismatch)  // k > 30
        // Zero padding bits read as gaps of 1 (the count is the frame's), so truncation shows at 5.
        #expect(Self.decode([1, 0b0101_0000], count: 4, bound: 100) == nil)
        #expect(Self.decode([1, 0b0101_0000], count: 5, bound: 100) == .byteLengthMismatch)  // truncated
        #expect(Self.decode([1, 0b0101_0000, 0], count: 2, bound: 4) == .byteLengthMismatch)  // spare byte
        #expect(Self.decode([1, 0b0101_0001], count: 2, bound: 4) == .byteLengthMismatch)  // padding not zero
        #expect(Self.decode([1, 0b0111_0000], count: 2, bound: 4) == .shapeMismatch)  // index 5 ≥ 4
        // A run of 1 bits longer than the model is cut off, not followed.
        #expect(Self.decode([0] + [UInt8](repeating: 0xFF, count: 64), count: 1, bound: 100) == .shapeMismatch)
        // k = 30 and quotient 1: gap 2^30 + 1, far past the model.
        #expect(Self.decode([30, 0b1000_0000, 0, 0, 0, 0], count: 1, bound: 1_000) == .shapeMismatch)
    }
}
