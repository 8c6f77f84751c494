public import Wire

/// DP-FedAvg's server side (McMahan et al. 2018) around any inner strategy: every client weighs
/// 1, the server checks each update's L2 norm itself, and the average divides by a fixed
/// denominator.
///
/// Why a wrapper and not flags: the composition shows in the type (`DPFixedClipping<FedAvg>`),
/// as in Flower's `dp_fixed_clipping.py`. Unlike Flower it forces weight 1 whatever a client
/// claims (its influence must not depend on how much data it says it has) and refuses, rather
/// than trusts, an update above the bound: a client's self-reported norm or `clipped` flag is
/// never read. Missing clients reduce the sum, they do not void the round.
///
/// The noise itself is not added here (the Privacy module owns how much noise goes where); the
/// caller passes the per-client noise a worker adds on top of its clipped update, so the bound
/// does not refuse honest noised updates under distributed or local placement.
public struct DPFixedClipping<Inner: AggregationStrategy>: AggregationStrategy {
    public typealias Accumulator = Inner.Accumulator

    /// The strategy that sums (weight 1 is forced before it sees an update).
    public let inner: Inner
    /// C, the clip norm of the round.
    public let clipNorm: Double
    /// The largest L2 norm accepted: C·(1 + 1e-5) + 1e-6 + the worker-noise allowance.
    ///
    /// The relative 1e-5 and absolute 1e-6 absorb the rounding of a client that clipped in Float
    /// (a 10⁶-element update scaled to C comes back a few ulps above it); they let no real
    /// poisoning through. Under distributed or local noise each worker adds N(0, σ²I) after
    /// clipping, so the allowance is σ(√d + 10): a d-dimensional Gaussian's norm exceeds σ(√d + t)
    /// with probability at most e^(−t²/2), here e^(−50), so an honest update is never refused.
    public let normBound: Double
    /// The fixed denominator m (the expected cohort), whoever reported.
    public let denominator: Double

    /// Wraps `inner` for a round with clip norm `clipNorm`, fixed denominator `denominator`, and
    /// `workerNoiseStandardDeviation` σ per coordinate added by each worker after clipping.
    public init(
        _ inner: Inner,
        clipNorm: Double,
        denominator: Double,
        workerNoiseStandardDeviation: Double = 0,
        parameterCount: Int
    ) {
        self.inner = inner
        self.clipNorm = clipNorm
        self.denominator = denominator
        let sigma = workerNoiseStandardDeviation.isFinite ? max(0, workerNoiseStandardDeviation) : 0
        let allowance = sigma > 0 ? sigma * (Double(max(0, parameterCount)).squareRoot() + 10) : 0
        normBound = clipNorm * (1 + 1e-5) + 1e-6 + allowance
    }

    public func makeAccumulator(parameterCount: Int) -> Accumulator {
        inner.makeAccumulator(parameterCount: parameterCount)
    }

    public func accumulate(_ update: UnsafeBufferPointer<Float>, weight: Double, into accumulator: inout Accumulator) {
        inner.accumulate(update, weight: 1, into: &accumulator)
    }

    public func accumulate(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout Accumulator
    ) {
        inner.accumulate(littleEndianBytes: bytes, weight: 1, into: &accumulator)
    }

    /// `normTooLarge` above ``normBound`` (norm recomputed here), else the inner strategy's
    /// checks at weight 1.
    public func refusal(
        ofLittleEndian bytes: UnsafeRawBufferPointer,
        weight: Double,
        in accumulator: Accumulator
    ) -> WireError? {
        if let refusal = normRefusal(bytes) { return refusal }
        return inner.refusal(ofLittleEndian: bytes, weight: 1, in: accumulator)
    }

    /// The norm check, then the inner strategy's check at weight 1, with the answers
    /// ``refusal(ofLittleEndian:weight:in:)`` gives. Where the inner strategy sums the squares in
    /// its own pass (FedAvg's bound check), the norm comes from there: two passes over the update
    /// instead of three. Its pass passing means every element is finite, so the norm alone decides;
    /// otherwise the norm is measured on its own and, as before, decides first.
    public func stage(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        onto accumulator: Accumulator,
        scratch: inout FoldScratch
    ) -> WireError? {
        switch inner.stageMeasuringSquares(littleEndianBytes: bytes, weight: 1, onto: accumulator, scratch: &scratch) {
        case .measured(let refusal, let squares):
            return normRefusal(norm: squares.squareRoot()) ?? refusal
        case .staged(let refusal):
            return normRefusal(bytes) ?? refusal
        case .unproven:
            // The norm first: an update over it is refused before the inner exact check's passes.
            if let refusal = normRefusal(bytes) { return refusal }
            return inner.stage(littleEndianBytes: bytes, weight: 1, onto: accumulator, scratch: &scratch)
        }
    }

    public func commit(
        littleEndianBytes bytes: UnsafeRawBufferPointer,
        weight: Double,
        into accumulator: inout Accumulator,
        scratch: inout FoldScratch
    ) {
        inner.commit(littleEndianBytes: bytes, weight: 1, into: &accumulator, scratch: &scratch)
    }

    public func combine(_ partial: PartialAggregate, into accumulator: inout Accumulator) {
        inner.combine(partial, into: &accumulator)
    }

    public func refusal(of partial: PartialAggregate, in accumulator: Accumulator) -> WireError? {
        inner.refusal(of: partial, in: accumulator)
    }

    public func finish(_ accumulator: Accumulator) -> AggregateOutcome {
        inner.finish(accumulator)
    }

    /// The DP-FedAvg average: the (noised) sum over the fixed denominator, never over the count.
    public func average(of sum: [Float]) -> [Float] {
        let inverse = Float(1 / max(denominator, 1))
        return sum.map { $0 * inverse }
    }

    /// `normTooLarge` when the frame's recomputed norm is above ``normBound``; `nonFinite` when
    /// the frame holds NaN or infinity.
    private func normRefusal(_ bytes: UnsafeRawBufferPointer) -> WireError? {
        let norm = Self.l2Norm(littleEndianBytes: bytes)
        // A frame the codec did not scan (the fused path) says what it is: NaN or ∞, not a norm.
        if !norm.isFinite, let element = VectorKernels.firstNonFinite(littleEndianBytes: bytes) {
            return WireError(code: .nonFinite, detail: "element \(element) is NaN or infinite")
        }
        return normRefusal(norm: norm)
    }

    /// `normTooLarge` when `norm` is above ``normBound``.
    private func normRefusal(norm: Double) -> WireError? {
        guard norm <= normBound else {
            return WireError(
                code: .normTooLarge,
                detail: "L2 norm \(norm) is above the bound \(normBound) (clip norm \(clipNorm))"
            )
        }
        return nil
    }

    /// ‖v‖₂ of an `f32le` frame; NaN and infinity come back as infinity, so they are above any bound.
    public static func l2Norm(littleEndianBytes bytes: UnsafeRawBufferPointer) -> Double {
        let squares = VectorKernels.sumOfSquares(littleEndianBytes: bytes)
        return squares.isFinite ? squares.squareRoot() : .infinity
    }
}
