public import Wire

/// How client updates are combined into one aggregate, streaming.
///
/// Flower's `aggregate_fit(results: list)` holds every client's update at once; a regional
/// shard with thousands of watches cannot. Here a strategy folds updates one at a time into an
/// ``Accumulator`` whose size does not grow with the number of clients (O(model), never
/// O(clients × model)), and ``finish(_:)`` turns it into the outcome. A strategy that must see
/// every update (median, trimmed mean, Krum) buffers inside its own accumulator and says so.
///
/// Hierarchical aggregation: a regional shard sends its accumulator's ``PartialAggregate``
/// (sum, weight sum, count) upward, and the global aggregator ``combine(_:into:)``s those —
/// a sum of sums, equal to aggregating every update flat.
///
/// Nothing a peer sends may trap an aggregator, so every fold has a check in front of it:
/// ``refusal(ofLittleEndian:weight:in:)`` and ``refusal(of:in:)`` say, without touching the
/// accumulator, why a fold would be wrong (shape, weight, a norm above the clip bound, a running
/// sum that would become infinite), and the caller folds only when the answer is nil. Check
/// first, then add: the honest updates already summed are never lost to a bad one.
///
/// What happens next (dividing by the weight sum or by DP-FedAvg's fixed denominator, then the
/// ``ServerOptimizer`` step) is deliberately not the strategy's job.
/// What ``AggregationStrategy/stageMeasuringSquares(littleEndianBytes:weight:onto:scratch:)`` did.
public enum MeasuredStage: Sendable {
    /// Staged (nil: accepted), with Σaᵢ² summed in the same pass.
    case measured(refusal: WireError?, squares: Double)
    /// Staged as `stage` stages; the squares were not summed.
    case staged(refusal: WireError?)
    /// Nothing staged: the one cheap pass could not prove the update, and the costly exact check
    /// is left to `stage`, so that a caller with a cheaper refusal (a norm) makes it first.
    case unproven
}

public protocol AggregationStrategy<Accumulator>: Sendable {
    /// Running state of one aggregation.
    associatedtype Accumulator

    /// A fresh accumulator for models of `parameterCount` parameters.
    func makeAccumulator(parameterCount: Int) -> Accumulator

    /// Folds one client update in.
    ///
    /// - Parameters:
    ///   - update: the client's delta (or weights); its count must equal `parameterCount`, which
    ///     the caller has checked against the model spec when decoding the message.
    ///   - weight: the client's weight, usually its number of training examples; must be finite
    ///     and non-negative.
    func accumulate(_ update: UnsafeBufferPointer<Float>, weight: Double, into accumulator: inout Accumulator)

    /// Folds in an update straight from a little-endian `f32le` frame (possibly misaligned).
    func accumulate(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout Accumulator
    )

    /// Why folding this `f32le` update in would be wrong, or nil when it may be folded.
    func refusal(
        ofLittleEndian bytes: UnsafeRawBufferPointer,
        weight: Double,
        in accumulator: Accumulator
    ) -> WireError?

    /// Checks an `f32le` update like ``refusal(ofLittleEndian:weight:in:)`` with as few passes over
    /// the floats as the strategy can, leaving in `scratch` what ``commit(littleEndianBytes:weight:into:scratch:)``
    /// needs; nil when it may be folded. The accumulator is only read: a refused update changes nothing.
    func stage(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: Accumulator,
        scratch: inout FoldScratch
    ) -> WireError?

    /// ``stage(littleEndianBytes:weight:onto:scratch:)``, with Σaᵢ² of the update when the strategy
    /// can sum it in the same pass (for a caller that needs the norm anyway, `DPFixedClipping`).
    func stageMeasuringSquares(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: Accumulator,
        scratch: inout FoldScratch
    ) -> MeasuredStage

    /// Applies an update ``stage(littleEndianBytes:weight:onto:scratch:)`` accepted (with the
    /// same bytes, weight and scratch, and the accumulator unchanged since).
    func commit(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout Accumulator,
        scratch: inout FoldScratch
    )

    /// Folds in a partial aggregate from a lower tier (a regional shard).
    func combine(_ partial: PartialAggregate, into accumulator: inout Accumulator)

    /// Why combining this partial would be wrong, or nil when it may be combined.
    func refusal(of partial: PartialAggregate, in accumulator: Accumulator) -> WireError?

    /// Ends the aggregation.
    func finish(_ accumulator: Accumulator) -> AggregateOutcome
}

extension AggregationStrategy {
    /// Check, then add, in two passes: for a strategy without a fused kernel.
    public func stage(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: Accumulator,
        scratch: inout FoldScratch
    ) -> WireError? {
        refusal(ofLittleEndian: bytes, weight: weight, in: accumulator)
    }

    public func stageMeasuringSquares(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: Accumulator,
        scratch: inout FoldScratch
    ) -> MeasuredStage {
        .staged(refusal: stage(littleEndianBytes: bytes, weight: weight, onto: accumulator, scratch: &scratch))
    }

    public func commit(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout Accumulator,
        scratch: inout FoldScratch
    ) {
        accumulate(littleEndianBytes: bytes, weight: weight, into: &accumulator)
    }

    /// Folds one client update held in an array.
    public func accumulate(_ update: [Float], weight: Double, into accumulator: inout Accumulator) {
        update.withUnsafeBufferPointer { accumulate($0, weight: weight, into: &accumulator) }
    }
}

/// What ``AggregationStrategy/stage(littleEndianBytes:weight:onto:scratch:)`` leaves for
/// ``AggregationStrategy/commit(littleEndianBytes:weight:into:scratch:)``: nothing (the update is
/// added in place, the usual case), or the folded sum already computed into `buffer`, to be
/// swapped in (an update near the edge of `Float`, checked element by element).
public struct FoldScratch: Sendable {
    var buffer: [Float] = []
    var staged = false
    /// The sum's bound and the element limit the in-place add was proven with (FedAvg), from
    /// which the sum's new bound follows.
    var proof: (sumBound: Double, limit: Float)?

    public init() {}
}

/// A weighted sum of updates: what a shard sends upward and what FedAvg accumulates.
public struct PartialAggregate: Sendable, Hashable {
    /// Σ weightᵢ · updateᵢ, element-wise.
    public internal(set) var sum: [Float] {
        didSet { magnitudeBound = nil }
    }
    /// A number no |sumᵢ| exceeds, when known, so FedAvg can prove that an update cannot make any
    /// element overflow from a bound on the update alone, without a pass over the sum. Any write
    /// to `sum` forgets it; only the in-place fold, which knows how far it can have grown, sets it.
    var magnitudeBound: Double?
    /// Σ weightᵢ.
    public internal(set) var weightSum: Double
    /// Number of client updates folded in (across every lower tier).
    public internal(set) var count: Int

    /// A partial aggregate received from a shard; nothing is validated beyond the shape, so the
    /// caller checks finiteness and bounds when decoding.
    public init(sum: [Float], weightSum: Double, count: Int) {
        self.sum = sum
        self.weightSum = weightSum
        self.count = count
    }

    /// The empty aggregate for `parameterCount` parameters.
    public init(parameterCount: Int) {
        self.init(sum: [Float](repeating: 0, count: parameterCount), weightSum: 0, count: 0)
        magnitudeBound = 0
    }

    public static func == (lhs: PartialAggregate, rhs: PartialAggregate) -> Bool {
        lhs.sum == rhs.sum && lhs.weightSum == rhs.weightSum && lhs.count == rhs.count
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(sum)
        hasher.combine(weightSum)
        hasher.combine(count)
    }

    /// Number of parameters.
    public var parameterCount: Int { sum.count }
}

/// The result of an aggregation: the sums, and their weighted mean.
public struct AggregateOutcome: Sendable, Hashable {
    /// The sums and counts; what a shard forwards.
    public let partial: PartialAggregate
    /// `sum / weightSum`, the FedAvg average; empty when nothing was aggregated.
    public let mean: [Float]

    /// Wraps sums and computes the mean.
    public init(partial: PartialAggregate) {
        self.partial = partial
        self.mean = partial.weightSum > 0 ? Self.divide(partial.sum, by: partial.weightSum) : []
    }

    /// Σ weightᵢ · updateᵢ.
    public var sum: [Float] { partial.sum }
    /// Σ weightᵢ.
    public var weightSum: Double { partial.weightSum }
    /// Number of updates.
    public var count: Int { partial.count }

    /// The sum divided by a fixed denominator.
    ///
    /// DP-FedAvg divides by the expected cohort size (fixed in advance) rather than by the
    /// number of updates that arrived, so one client's presence does not change the scale.
    public func mean(dividingBy denominator: Double) -> [Float] {
        precondition(denominator > 0 && denominator.isFinite, "denominator must be positive and finite")
        return Self.divide(partial.sum, by: denominator)
    }

    private static func divide(_ sum: [Float], by denominator: Double) -> [Float] {
        let inverse = Float(1 / denominator)
        return sum.map { $0 * inverse }
    }
}
