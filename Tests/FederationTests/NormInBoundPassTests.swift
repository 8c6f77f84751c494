import Testing
import Wire

@testable import Federation

/// Under DP the shard's norm comes from FedAvg's bound-check pass (`VectorKernels.squares`), not
/// from a pass of its own: the same answers as the norm's own pass followed by the checks, for
/// honest updates at the bound, above it, non-finite ones and ones too large for the bound proof.
struct NormInBoundPassTests {
    static let count = 21  // two SIMD8 vectors and a scalar tail

    static func frame(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    @Test func theSquaresAreTheOneLaneSumAndTheCheckIsTheBoundCheck() {
        let values = (0..<Self.count).map { Float($0) * 0.731 - 7 }
        let bytes = [0xCD] + Self.frame(values)  // misaligned by one byte
        bytes.withUnsafeBytes { whole in
            let raw = UnsafeRawBufferPointer(rebasing: whole[1...])
            let reference = VectorKernels.sumOfSquares(littleEndianBytes: raw)
            let squares = VectorKernels.squares(littleEndianBytes: raw, within: 8)
            #expect(squares.map { abs($0 - reference) <= reference * 1e-15 } == true)
            #expect(VectorKernels.magnitudes(littleEndianBytes: raw, within: 8))
            // 7.0 passes a limit of 7, the tail's 7.62 does not; and nothing passes a NaN limit.
            #expect(VectorKernels.squares(littleEndianBytes: raw, within: 7.5) == nil)
            #expect(VectorKernels.squares(littleEndianBytes: raw, within: .nan) == nil)
        }
        for poison in [Float.nan, .infinity, -.infinity] {
            var poisoned = values
            poisoned[3] = poison
            Self.frame(poisoned).withUnsafeBytes { raw in
                #expect(VectorKernels.squares(littleEndianBytes: raw, within: .greatestFiniteMagnitude) == nil)
            }
        }
    }

    /// `stage` (one pass for the norm and the bound) against `refusal` (the norm's own pass, then
    /// FedAvg's checks), each on a sum already holding one update.
    static let cases: [(String, [Float], RejectReason?)] = [
        ("at the bound", [Float](repeating: 1 / Float(count).squareRoot(), count: count), nil),
        ("just above the bound", [Float](repeating: 1.0001 / Float(count).squareRoot(), count: count), .normTooLarge),
        ("one NaN", (0..<count).map { $0 == 20 ? Float.nan : 0.01 }, .nonFinite),
        ("one infinity", (0..<count).map { $0 == 4 ? -Float.infinity : 0.01 }, .nonFinite),
        ("2^70 in one element", (0..<count).map { $0 == 9 ? Float(0x1p70) : 0 }, .normTooLarge),
        ("3e38 everywhere", [Float](repeating: 3e38, count: count), .normTooLarge),
    ]

    static func clipping() -> DPFixedClipping<FedAvg> {
        DPFixedClipping(FedAvg(weighting: .uniform), clipNorm: 1, denominator: 4, parameterCount: count)
    }

    @Test(arguments: cases)
    func oneMeasuringPassGivesTheAnswersOfTheNormsOwnPass(_ name: String, values: [Float], reason: RejectReason?) {
        let strategy = Self.clipping()
        var accumulator = strategy.makeAccumulator(parameterCount: Self.count)
        strategy.accumulate([Float](repeating: 0.1, count: Self.count), weight: 1, into: &accumulator)
        let before = accumulator
        var scratch = FoldScratch()
        let (staged, reference) = Self.frame(values).withUnsafeBytes { raw in
            (
                strategy.stage(littleEndianBytes: raw, weight: 9, onto: accumulator, scratch: &scratch),
                strategy.refusal(ofLittleEndian: raw, weight: 9, in: accumulator)
            )
        }
        #expect(staged?.code == reason, "\(name)")
        #expect(reference?.code == reason, "\(name)")
        #expect(accumulator == before)
    }

    /// An attacker's update both beyond the bound proof (2⁷⁰ in one element) and over the norm is
    /// refused by the norm before the exact element-by-element check stages a sum for it: the
    /// scratch buffer that check would fill is never allocated.
    @Test func anUpdateTooLargeForTheProofAndOverTheNormIsRefusedWithoutStaging() {
        let strategy = Self.clipping()
        let accumulator = strategy.makeAccumulator(parameterCount: Self.count)
        var scratch = FoldScratch()
        let values = (0..<Self.count).map { $0 == 9 ? Float(0x1p70) : 0 }
        let refusal = Self.frame(values).withUnsafeBytes { raw in
            strategy.stage(littleEndianBytes: raw, weight: 1, onto: accumulator, scratch: &scratch)
        }
        #expect(refusal?.code == .normTooLarge)
        #expect(scratch.buffer.isEmpty)
        #expect(!scratch.staged)
    }
}
