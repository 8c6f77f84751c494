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

    /// The checks of ``refusal(ofLittleEndian:weight:in:)`` and the addition in one pass over the
    /// frame: the new sum is written into `scratch` (sized here once, then reused), and the running
    /// sum is only read. A frame holding NaN or infinity is `nonFinite`, a sum that would become
    /// infinite `overflow`, as when checked apart.
    public func stage(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: PartialAggregate,
        scratch: inout [Float]
    ) -> WireError? {
        let effective: Float
        switch scale(ofLittleEndian: bytes, weight: weight, in: accumulator) {
        case .failure(let error): return error
        case .success(let scale): effective = scale
        }
        if scratch.count != accumulator.sum.count { scratch = [Float](repeating: 0, count: accumulator.sum.count) }
        let finite = accumulator.sum.withUnsafeBufferPointer { sum in
            scratch.withUnsafeMutableBufferPointer { target in
                VectorKernels.stageSum(adding: bytes, scale: effective, to: sum, into: target)
            }
        }
        guard !finite else { return nil }
        // Only on the way out: tell a poisoned frame from an honest one the sum cannot take.
        if let element = VectorKernels.firstNonFinite(littleEndianBytes: bytes) {
            return WireError(code: .nonFinite, detail: "element \(element) is NaN or infinite")
        }
        return WireError(code: .overflow, detail: "adding this update would make the running sum infinite")
    }

    /// Swaps the staged sum in: the old one becomes the next update's scratch.
    public func commit(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout PartialAggregate,
        scratch: inout [Float]
    ) {
        guard scratch.count == accumulator.sum.count, !accumulator.sum.isEmpty else {
            accumulate(littleEndianBytes: bytes, weight: weight, into: &accumulator)
            return
        }
        swap(&accumulator.sum, &scratch)
        accumulator.weightSum += weighting.usesReportedWeight ? weight : 1
        accumulator.count += 1
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
