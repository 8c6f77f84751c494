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
        var scratch = FoldScratch()
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
        var scratch = FoldScratch()
        let refusal = Self.frame(update).withUnsafeBytes { raw in
            strategy.stage(littleEndianBytes: raw, weight: 1, onto: accumulator, scratch: &scratch)
        }
        #expect(refusal?.code == reason)
        #expect(accumulator == before)
    }

    /// The in-place add decides overflow from bounds; where they cannot prove it (one element
    /// near 2e38 in the sum, another in the update) the update is checked element by element and,
    /// being finite, still added, bit for bit as the two-pass path adds it.
    @Test func anUpdateTheBoundCannotClearIsCheckedElementByElementAndAdded() throws {
        let strategy = FedAvg(weighting: .uniform)
        var fused = strategy.makeAccumulator(parameterCount: 21)
        var plain = strategy.makeAccumulator(parameterCount: 21)
        var scratch = FoldScratch()
        var first = [Float](repeating: 0.5, count: 21)
        first[3] = 2e38
        var second = [Float](repeating: 0.25, count: 21)
        second[19] = 2e38
        for update in [first, second] {
            try Self.frame(update).withUnsafeBytes { raw in
                try #require(strategy.stage(littleEndianBytes: raw, weight: 1, onto: fused, scratch: &scratch) == nil)
                strategy.commit(littleEndianBytes: raw, weight: 1, into: &fused, scratch: &scratch)
                strategy.accumulate(littleEndianBytes: raw, weight: 1, into: &plain)
            }
        }
        #expect(fused == plain)
        #expect(fused.sum[3] == 2e38 && fused.sum[19] == 2e38)
        // A third 2e38 at element 3 would make it infinite: refused, and the sum is as it was.
        let before = fused
        let refusal = Self.frame(first).withUnsafeBytes { raw in
            strategy.stage(littleEndianBytes: raw, weight: 1, onto: fused, scratch: &scratch)
        }
        #expect(refusal?.code == .overflow)
        #expect(fused == before && fused.count == 2)
    }

    /// The sum carries a bound on its elements from the last in-place add; a sum changed any
    /// other way (here a partial combined in) forgets it, and the next fold measures the sum
    /// again, so the bound it leaves still covers every element.
    @Test func aSumChangedAnotherWayIsMeasuredAgainBeforeTheBoundIsTrusted() throws {
        let strategy = FedAvg(weighting: .uniform)
        var accumulator = strategy.makeAccumulator(parameterCount: 21)
        #expect(accumulator.magnitudeBound == 0)
        strategy.combine(
            PartialAggregate(sum: [Float](repeating: 3e38, count: 21), weightSum: 1, count: 1),
            into: &accumulator
        )
        #expect(accumulator.magnitudeBound == nil)
        var scratch = FoldScratch()
        let before = accumulator
        let refusal = Self.frame([Float](repeating: 1e38, count: 21)).withUnsafeBytes { raw in
            strategy.stage(littleEndianBytes: raw, weight: 1, onto: accumulator, scratch: &scratch)
        }
        #expect(refusal?.code == .overflow)
        #expect(accumulator == before)
        // Far from the edge the add is in place; its bound must count the combined 5e20s.
        var moderate = strategy.makeAccumulator(parameterCount: 21)
        strategy.combine(
            PartialAggregate(sum: [Float](repeating: 5e20, count: 21), weightSum: 1, count: 1),
            into: &moderate
        )
        try Self.frame([Float](repeating: -2, count: 21)).withUnsafeBytes { raw in
            try #require(strategy.stage(littleEndianBytes: raw, weight: 1, onto: moderate, scratch: &scratch) == nil)
            strategy.commit(littleEndianBytes: raw, weight: 1, into: &moderate, scratch: &scratch)
        }
        let bound = try #require(moderate.magnitudeBound)
        #expect(moderate.sum.allSatisfy { Double($0.magnitude) <= bound })
    }

    /// The bound the in-place add leaves covers every element, update after update.
    @Test func theBoundAfterInPlaceAddsCoversEveryElement() throws {
        let strategy = FedAvg(weighting: .byReportedWeight)
        var accumulator = strategy.makeAccumulator(parameterCount: 21)
        var scratch = FoldScratch()
        for round in 0..<40 {
            let update = (0..<21).map { Float(($0 * 7 + round * 13) % 23) * 1e4 - 1.1e5 }
            try Self.frame(update).withUnsafeBytes { raw in
                let weight = Double(round % 5 + 1) * 1e3
                try #require(
                    strategy.stage(littleEndianBytes: raw, weight: weight, onto: accumulator, scratch: &scratch) == nil
                )
                strategy.commit(littleEndianBytes: raw, weight: weight, into: &accumulator, scratch: &scratch)
            }
            let bound = try #require(accumulator.magnitudeBound)
            #expect(accumulator.sum.allSatisfy { Double($0.magnitude) <= bound })
        }
    }

    /// The magnitude pass reads eight lanes at a time with a scalar tail, from a misaligned
    /// frame: a NaN or an infinity anywhere is found, with its index.
    @Test(arguments: [0, 7, 8, 15, 16, 20])
    func aPoisonedElementAnywhereIsNonFinite(position: Int) {
        let strategy = FedAvg(weighting: .byReportedWeight)
        let accumulator = strategy.makeAccumulator(parameterCount: 21)
        var scratch = FoldScratch()
        for poison in [Float.nan, -.infinity] {
            var update = [Float](repeating: -0.75, count: 21)
            update[position] = poison
            let bytes = [0xCD] + Self.frame(update)
            let refusal = bytes.withUnsafeBytes { whole in
                strategy.stage(
                    littleEndianBytes: UnsafeRawBufferPointer(rebasing: whole[1...]),
                    weight: 2,
                    onto: accumulator,
                    scratch: &scratch
                )
            }
            #expect(refusal?.code == .nonFinite && refusal?.detail.contains("element \(position) ") == true)
        }
    }

    /// The shard decodes large updates without the codec's float scan and relies on `stage`: a
    /// NaN or infinity must come back `nonFinite` under DP too (its norm is infinite, but the
    /// reason is the element, not the norm).
    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func underDPAPoisonedFrameIsNonFiniteNotANorm(poison: Float) {
        let strategy = DPFixedClipping(FedAvg(weighting: .uniform), clipNorm: 1, denominator: 4, parameterCount: 21)
        let accumulator = strategy.makeAccumulator(parameterCount: 21)
        var scratch = FoldScratch()
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
