import Testing
import Wire

@testable import Federation

/// The shard's one-pass check-and-add (`stage` then `commit`) against the two-pass
/// `refusal` + `accumulate` it replaces: the same sums bit for bit, the same refusals, and a
/// refused update leaves the running sum as it was.
struct FusedFoldTests {
    static func frame(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    static let strategies: [any AggregationStrategy<PartialAggregate>] = [
        FedAvg(weighting: .byReportedWeight),
        DPFixedClipping(FedAvg(weighting: .uniform), clipNorm: 1_000, denominator: 4, parameterCount: 21),
    ]

    @Test(arguments: 0..<2)
    func stagingThenCommittingEqualsCheckingThenAdding(strategyIndex: Int) throws {
        let strategy = Self.strategies[strategyIndex]
        // 21 elements: two SIMD8 vectors and a scalar tail; the frame is misaligned by one byte.
        let updates: [[Float]] = (0..<5).map { round in (0..<21).map { Float($0 * (round + 1)) * 0.37 - 3 } }
        var fused = strategy.makeAccumulator(parameterCount: 21)
        var plain = strategy.makeAccumulator(parameterCount: 21)
        var scratch: [Float] = []
        for (index, update) in updates.enumerated() {
            let bytes = [0xAB] + Self.frame(update)
            try bytes.withUnsafeBytes { whole in
                let raw = UnsafeRawBufferPointer(rebasing: whole[1...])
                let weight = Double(index + 1)
                #expect(strategy.refusal(ofLittleEndian: raw, weight: weight, in: plain) == nil)
                strategy.accumulate(littleEndianBytes: raw, weight: weight, into: &plain)
                let refusal = strategy.stage(littleEndianBytes: raw, weight: weight, onto: fused, scratch: &scratch)
                try #require(refusal == nil)
                strategy.commit(littleEndianBytes: raw, weight: weight, into: &fused, scratch: &scratch)
            }
        }
        #expect(fused == plain)
    }

    @Test(arguments: [
        ([Float](repeating: 1, count: 20) + [.nan], RejectReason.nonFinite),
        ([Float](repeating: 1, count: 20) + [.infinity], .nonFinite),
        ([Float](repeating: 3e38, count: 21), .overflow),
    ])
    func aRefusedUpdateLeavesTheSumAsItWas(update: [Float], reason: RejectReason) {
        let strategy = FedAvg(weighting: .uniform)
        var accumulator = strategy.makeAccumulator(parameterCount: 21)
        strategy.accumulate([Float](repeating: 3e38, count: 21), weight: 1, into: &accumulator)
        let before = accumulator
        var scratch: [Float] = []
        let refusal = Self.frame(update).withUnsafeBytes { raw in
            strategy.stage(littleEndianBytes: raw, weight: 1, onto: accumulator, scratch: &scratch)
        }
        #expect(refusal?.code == reason)
        #expect(accumulator == before)
    }

    /// The shard decodes large updates without the codec's float scan and relies on `stage`: a
    /// NaN or infinity must come back `nonFinite` under DP too (its norm is infinite, but the
    /// reason is the element, not the norm).
    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func underDPAPoisonedFrameIsNonFiniteNotANorm(poison: Float) {
        let strategy = DPFixedClipping(FedAvg(weighting: .uniform), clipNorm: 1, denominator: 4, parameterCount: 21)
        let accumulator = strategy.makeAccumulator(parameterCount: 21)
        var scratch: [Float] = []
        var update = [Float](repeating: 0.01, count: 21)
        update[17] = poison
        let refusal = Self.frame(update).withUnsafeBytes { raw in
            strategy.stage(littleEndianBytes: raw, weight: 1, onto: accumulator, scratch: &scratch)
        }
        #expect(refusal?.code == .nonFinite && refusal?.detail.contains("element 17") == true)
        // An honest update above the clip norm is still normTooLarge.
        let large = Self.frame([Float](repeating: 1, count: 21)).withUnsafeBytes { raw in
            strategy.stage(littleEndianBytes: raw, weight: 1, onto: accumulator, scratch: &scratch)
        }
        #expect(large?.code == .normTooLarge)
    }
}
