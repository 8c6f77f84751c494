import Testing

@testable import SecureAggregation

/// The edge's keys, seeds and Shamir coefficients come from this generator.
@Suite struct BufferedSystemRandomTests {
    /// Across several refills no word repeats and none is zero (a failed refill that left the
    /// buffer as it was, or zeroed, would repeat words); two generators share nothing.
    @Test func wordsNeverRepeatAcrossRefillsOrInstances() {
        let first = BufferedSystemRandom()
        let second = BufferedSystemRandom()
        let words = (0..<200).map { _ in first.next() } + (0..<200).map { _ in second.next() }
        #expect(Set(words).count == words.count)
        #expect(!words.contains(0))
    }

    /// Every bit position takes both values: the words are whole 64-bit draws, not bytes.
    @Test func everyBitVaries() {
        var generator = BufferedSystemRandom()
        var ones: UInt64 = 0
        var zeros: UInt64 = 0
        for _ in 0..<256 {
            let word = generator.next()
            ones |= word
            zeros |= ~word
        }
        #expect(ones == .max)
        #expect(zeros == .max)
        let bytes = generator.bytes(40)
        #expect(bytes.count == 40)
    }

    /// A word handed out (a future private key or seed) no longer sits in the buffer; the words
    /// not yet handed out are still there.
    @Test func handedOutWordsAreWipedFromTheBuffer() {
        let generator = BufferedSystemRandom()
        let drawn = (0..<5).map { _ in generator.next() }
        #expect(generator.buffer.prefix(generator.position).allSatisfy { $0 == 0 })
        #expect(generator.buffer.suffix(from: generator.position).contains { $0 != 0 })
        #expect(!drawn.contains(0))
    }
}
