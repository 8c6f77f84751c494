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
