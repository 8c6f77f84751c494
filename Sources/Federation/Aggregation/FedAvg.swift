public import Wire

/// Weighted averaging of client updates (McMahan et al., 2017), streaming.
///
/// The accumulator is a ``PartialAggregate``: one `[Float]` of sums plus two scalars, so memory
/// is O(model) however many clients report. The inner loop is a fused multiply-add over raw
/// buffers, which the compiler vectorises; on a model that does not fit in cache it runs at
/// memory bandwidth (see the bench).
public struct FedAvg: AggregationStrategy {
    /// How much each client counts.
    public struct Weighting: Sendable, Hashable {
        let usesReportedWeight: Bool

        /// Each client weighs its reported weight (its example count): FedAvg as published.
        public static let byReportedWeight = Weighting(usesReportedWeight: true)
        /// Every client weighs 1, whatever it reports: required under DP, where a client's
        /// influence must not depend on how much data it claims.
        public static let uniform = Weighting(usesReportedWeight: false)
    }

    /// The weighting in force.
    public let weighting: Weighting

    public init(weighting: Weighting = .byReportedWeight) {
        self.weighting = weighting
    }

    public func makeAccumulator(parameterCount: Int) -> PartialAggregate {
        PartialAggregate(parameterCount: parameterCount)
    }

    public func accumulate(
        _ update: UnsafeBufferPointer<Float>,
        weight: Double,
        into accumulator: inout PartialAggregate
    ) {
        precondition(
            update.count == accumulator.sum.count,
            "update has \(update.count) parameters, expected \(accumulator.sum.count)"
        )
        let effective = weighting.usesReportedWeight ? weight : 1
        precondition(effective.isFinite && effective >= 0, "client weight must be finite and non-negative")
        accumulator.sum.withUnsafeMutableBufferPointer { sum in
            VectorKernels.addScaled(update, scale: Float(effective), into: sum)
        }
        accumulator.weightSum += effective
        accumulator.count += 1
    }

    /// Folds in an update straight from a little-endian `f32le` tensor frame.
    ///
    /// Saves decoding into a temporary array; frames from libzmq may be misaligned, so every
    /// element is read with an unaligned load.
    public func accumulate(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout PartialAggregate
    ) {
        precondition(
            bytes.count == accumulator.sum.count * 4,
            "frame has \(bytes.count) bytes, expected \(accumulator.sum.count * 4)"
        )
        let effective = weighting.usesReportedWeight ? weight : 1
        precondition(effective.isFinite && effective >= 0, "client weight must be finite and non-negative")
        accumulator.sum.withUnsafeMutableBufferPointer { sum in
            VectorKernels.addScaled(littleEndianBytes: bytes, scale: Float(effective), into: sum)
        }
        accumulator.weightSum += effective
        accumulator.count += 1
    }

    /// The scale an update is added with, or why it cannot be: a wrong length (`shapeMismatch`),
    /// a weight that is negative, not finite or would make the weight sum infinite (`overflow`).
    private func scale(
        ofLittleEndian bytes: UnsafeRawBufferPointer,
        weight: Double,
        in accumulator: PartialAggregate
    ) -> Result<Float, WireError> {
        guard bytes.count == accumulator.sum.count * 4 else {
            return .failure(
                WireError(
                    code: .shapeMismatch,
                    detail: "\(bytes.count / 4) elements, the model has \(accumulator.sum.count)"
                )
            )
        }
        let effective = weighting.usesReportedWeight ? weight : 1
        guard effective.isFinite, effective >= 0, (accumulator.weightSum + effective).isFinite,
            Float(effective).isFinite
        else {
            return .failure(
                WireError(
                    code: .overflow,
                    detail: "weight \(weight) cannot be added to the weight sum \(accumulator.weightSum)"
                )
            )
        }
        return .success(Float(effective))
    }

    /// Refuses a wrong length (`shapeMismatch`), a weight that is negative, not finite or would
    /// make the weight sum infinite, and an update whose weighted addition would make any
    /// element of the running sum infinite (`overflow`); every check reads, none writes.
    public func refusal(
        ofLittleEndian bytes: UnsafeRawBufferPointer,
        weight: Double,
        in accumulator: PartialAggregate
    ) -> WireError? {
        let effective: Float
        switch scale(ofLittleEndian: bytes, weight: weight, in: accumulator) {
        case .failure(let error): return error
        case .success(let scale): effective = scale
        }
        let finite = accumulator.sum.withUnsafeBufferPointer { sum in
            VectorKernels.sumStaysFinite(adding: bytes, scale: effective, to: sum)
        }
        return finite
            ? nil : WireError(code: .overflow, detail: "adding this update would make the running sum infinite")
    }

    /// The checks of ``refusal(ofLittleEndian:weight:in:)`` in one read-only pass over the frame,
    /// so that ``commit(littleEndianBytes:weight:into:scratch:)`` can add in place: 12 MB of memory
    /// traffic per 10⁶-element update (read the frame and the sum, write the sum) plus this pass's
    /// 4 MB, instead of 20 with the sum staged beside the old one (read both, write a third buffer).
    ///
    /// Overflow is decided from bounds. The sum carries S ≥ every |sᵢ|; from it and the scale
    /// w ≥ 0 follows a limit L = min(2⁶⁴, Float.max/2 − S) / (w·(1 + 2⁻²⁰)), and the pass checks
    /// every |aᵢ| ≤ L (which NaN and ∞ fail too). Then |sᵢ + fl(aᵢ·w)| ≤ S + L·w·(1 + 2⁻²⁴) ≤
    /// Float.max/2, so no element can round to infinity, and the new sum's bound is
    /// (S + L·w)·(1 + 2⁻²⁰). The 2⁶⁴ cap keeps S far from the limit for many updates however
    /// small the elements are. An update over the limit is examined element by element: a NaN or
    /// infinity is `nonFinite`; otherwise it is folded into `scratch`, exactly as before this pass
    /// existed, and refused `overflow` if any element would be infinite. The accumulator is only read.
    public func stage(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: PartialAggregate,
        scratch: inout FoldScratch
    ) -> WireError? {
        let effective: Float
        switch scale(ofLittleEndian: bytes, weight: weight, in: accumulator) {
        case .failure(let error): return error
        case .success(let scale): effective = scale
        }
        scratch.staged = false
        scratch.proof = nil
        let (bound, limit) = proofLimit(onto: accumulator, scale: effective)
        if VectorKernels.magnitudes(littleEndianBytes: bytes, within: limit) {
            scratch.proof = (bound, limit)
            return nil
        }
        return stageElementByElement(bytes, scale: effective, onto: accumulator, scratch: &scratch)
    }

    /// ``stage(littleEndianBytes:weight:onto:scratch:)`` with Σaᵢ² summed in its bound-check pass
    /// (for `DPFixedClipping`'s norm, which then needs no pass of its own); `.unproven` when that
    /// pass did not prove the in-place add, with nothing staged: the element-by-element check
    /// (two more passes and a staged sum) waits until the caller's norm check has passed, so an
    /// update both huge and over the norm costs no more than its norm pass.
    public func stageMeasuringSquares(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: PartialAggregate,
        scratch: inout FoldScratch
    ) -> MeasuredStage {
        let effective: Float
        switch scale(ofLittleEndian: bytes, weight: weight, in: accumulator) {
        case .failure(let error): return .staged(refusal: error)
        case .success(let scale): effective = scale
        }
        scratch.staged = false
        scratch.proof = nil
        let (bound, limit) = proofLimit(onto: accumulator, scale: effective)
        guard let squares = VectorKernels.squares(littleEndianBytes: bytes, within: limit) else { return .unproven }
        scratch.proof = (bound, limit)
        return .measured(refusal: nil, squares: squares)
    }

    /// The sum's bound S and the element limit L the in-place add is proven under.
    private func proofLimit(onto accumulator: PartialAggregate, scale: Float) -> (bound: Double, limit: Float) {
        let bound =
            accumulator.magnitudeBound
            ?? Double(accumulator.sum.withUnsafeBufferPointer { VectorKernels.largestMagnitude(of: $0) })
        return (bound, Self.elementLimit(sumBound: bound, scale: scale))
    }

    /// The check for an update the bounds could not prove: `nonFinite`, or the new sum staged in
    /// `scratch` exactly, refused `overflow` if any element would be infinite.
    private func stageElementByElement(
        _ bytes: UnsafeRawBufferPointer,
        scale effective: Float,
        onto accumulator: PartialAggregate,
        scratch: inout FoldScratch
    ) -> WireError? {
        if let element = VectorKernels.firstNonFinite(littleEndianBytes: bytes) {
            return WireError(code: .nonFinite, detail: "element \(element) is NaN or infinite")
        }
        let count = accumulator.sum.count
        if scratch.buffer.count != count { scratch.buffer = [Float](repeating: 0, count: count) }
        let finite = accumulator.sum.withUnsafeBufferPointer { sum in
            scratch.buffer.withUnsafeMutableBufferPointer { target in
                VectorKernels.stageSum(adding: bytes, scale: effective, to: sum, into: target)
            }
        }
        guard finite else {
            return WireError(code: .overflow, detail: "adding this update would make the running sum infinite")
        }
        scratch.staged = true
        return nil
    }

    /// Adds an update ``stage(littleEndianBytes:weight:onto:scratch:)`` accepted: in place, or by
    /// swapping in the sum it staged (the old sum becomes the next staging buffer).
    public func commit(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout PartialAggregate,
        scratch: inout FoldScratch
    ) {
        let effective = weighting.usesReportedWeight ? weight : 1
        if scratch.staged, scratch.buffer.count == accumulator.sum.count, !accumulator.sum.isEmpty {
            swap(&accumulator.sum, &scratch.buffer)
        } else {
            accumulator.sum.withUnsafeMutableBufferPointer { sum in
                VectorKernels.addScaledBackwards(littleEndianBytes: bytes, scale: Float(effective), into: sum)
            }
            if let proof = scratch.proof {
                let growth = Double(proof.limit) * Double(Float(effective)) * (1 + 0x1p-20)
                accumulator.magnitudeBound = (proof.sumBound + growth) * (1 + 0x1p-20)
            }
        }
        scratch.staged = false
        scratch.proof = nil
        accumulator.weightSum += effective
        accumulator.count += 1
    }

    /// The largest |aᵢ| an update scaled by `scale` may have for the in-place add to be proven
    /// finite over a sum bounded by `sumBound` (see ``stage(littleEndianBytes:weight:onto:scratch:)``),
    /// rounded down to a Float; 0 when the sum is already too close to the edge.
    static func elementLimit(sumBound: Double, scale: Float) -> Float {
        let room = min(0x1p64, Double(Float.greatestFiniteMagnitude) / 2 - sumBound)
        guard sumBound.isFinite, room > 0 else { return 0 }
        guard scale > 0 else { return .greatestFiniteMagnitude }  // a·0 adds nothing to a finite a
        let limit = room / (Double(scale) * (1 + 0x1p-20))
        let rounded = Float(limit)
        return Double(rounded) > limit ? rounded.nextDown : rounded
    }

    /// Refuses a partial of the wrong length, with a count or weight sum that would overflow,
    /// or whose sum would make the running sum infinite.
    public func refusal(of partial: PartialAggregate, in accumulator: PartialAggregate) -> WireError? {
        guard partial.sum.count == accumulator.sum.count else {
            return WireError(
                code: .shapeMismatch,
                detail: "\(partial.sum.count) elements, the model has \(accumulator.sum.count)"
            )
        }
        let (count, countOverflow) = accumulator.count.addingReportingOverflow(partial.count)
        guard !countOverflow, count >= 0 else {
            return WireError(code: .overflow, detail: "contributor count \(partial.count) overflows the running count")
        }
        guard partial.weightSum.isFinite, partial.weightSum >= 0, (accumulator.weightSum + partial.weightSum).isFinite
        else {
            return WireError(code: .overflow, detail: "weight sum \(partial.weightSum) cannot be added")
        }
        let finite = partial.sum.withUnsafeBytes { bytes in
            accumulator.sum.withUnsafeBufferPointer { VectorKernels.sumStaysFinite(adding: bytes, scale: 1, to: $0) }
        }
        return finite
            ? nil : WireError(code: .overflow, detail: "adding this partial would make the running sum infinite")
    }

    public func combine(_ partial: PartialAggregate, into accumulator: inout PartialAggregate) {
        precondition(
            partial.sum.count == accumulator.sum.count,
            "partial has \(partial.sum.count) parameters, expected \(accumulator.sum.count)"
        )
        partial.sum.withUnsafeBufferPointer { source in
            accumulator.sum.withUnsafeMutableBufferPointer { sum in
                VectorKernels.addScaled(source, scale: 1, into: sum)
            }
        }
        accumulator.weightSum += partial.weightSum
        accumulator.count += partial.count
    }

    public func finish(_ accumulator: PartialAggregate) -> AggregateOutcome {
        AggregateOutcome(partial: accumulator)
    }
}
