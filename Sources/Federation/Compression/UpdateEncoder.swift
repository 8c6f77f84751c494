import Learning
public import Wire

/// The edge's last step before the wire: select, rotate and quantize a (clipped, noised) delta.
///
/// Under DP the order is clip → noise → encode: encoding is post-processing of what the privacy
/// mechanism already produced for the values it keeps, and stochastic rounding only adds
/// zero-mean variance (≤ step²/4 per value) on top of the noise; it removes none of it.
///
/// Error feedback (Stich et al. 2018; Karimireddy et al. 2019): for `topk` and `randk` whatever
/// this round did not send — the dropped coordinates and the rounding of the kept ones — stays
/// on the device as `residual` and is added to the next round's delta before clipping, so
/// nothing is lost, only delayed. Dense quantization is unbiased and keeps no residual.
public struct UpdateEncoder: Sendable {
    /// The round's plan.
    public let plan: CompressionPlan

    /// An encoder for a round's plan.
    public init(plan: CompressionPlan) {
        self.plan = plan
    }

    /// Whether this plan keeps a residual on the device.
    public var usesErrorFeedback: Bool { plan.settings.sparsification != .none }

    /// The tensors for `delta` (d values), and what was not sent (d values; zeros when no
    /// error feedback), so that decode(tensors) + residual == delta up to float rounding.
    public func encode(
        _ delta: [Float],
        using rng: inout some RandomNumberGenerator
    ) -> (tensors: [Tensor], residual: [Float]) {
        // A delta of another size cannot be planned; sent as is, the shard refuses it by shape.
        guard delta.count == plan.parameterCount else { return ([.f32le(name: "delta", delta)], delta.map { _ in 0 }) }
        let indices: [Int]?
        switch plan.settings.sparsification {
        case .none: indices = nil
        case .randk: indices = plan.sharedIndices
        case .topk: indices = Self.largest(plan.keptCount, of: delta)
        }
        var values = indices.map { $0.map { delta[$0] } } ?? delta
        values.append(contentsOf: repeatElement(0, count: plan.valueCount - values.count))
        plan.rotation?.rotate(&values)
        var frames: [Tensor] = []
        if let quantizer = plan.quantizer {
            // One draw from the caller's generator seeds a fast one for the d roundings: the
            // system generator costs a system call per value (about 0.3 s per 10⁶ values).
            // Rounding needs independence from the data, not secrecy: it is post-processing of
            // the already noised delta, so a predictable rounding weakens no DP guarantee.
            var rounding = SeededGenerator(seed: rng.next(), stream: rng.next())
            let levels = values.map { quantizer.level(of: $0, using: &rounding) }
            frames.append(
                .encoded(
                    name: "delta",
                    encoding: plan.valueEncoding,
                    bytes: Self.pack(levels, fourBit: plan.settings.quantization == .q4),
                    elementCount: values.count
                )
            )
        } else {
            frames.append(.f32le(name: "delta", values))
        }
        if plan.settings.sparsification == .topk, let indices {
            frames.append(
                .encoded(
                    name: "deltaIndex",
                    encoding: .gapRice,
                    bytes: GapRice.encode(indices),
                    elementCount: indices.count
                )
            )
        }
        guard usesErrorFeedback else { return (frames, [Float](repeating: 0, count: delta.count)) }
        var residual = delta
        // Our own frames always decode; the fallback keeps the whole delta for the next round.
        if case .success(let sent) = UpdateDecoder(plan: plan).decode(frames) {
            for index in residual.indices { residual[index] -= sent[index] }
        }
        return (frames, residual)
    }

    /// The indices of the k largest |values|, ascending (ties to the lower index).
    static func largest(_ count: Int, of values: [Float]) -> [Int] {
        guard count < values.count else { return Array(values.indices) }
        // The k-th largest magnitude by selection on a copy, then one pass: O(d) expected.
        var magnitudes = values.map(\.magnitude)
        let threshold = Self.select(&magnitudes, rank: values.count - count)
        var above: [Int] = []
        var equal: [Int] = []
        for (index, value) in values.enumerated() {
            if value.magnitude > threshold {
                above.append(index)
            } else if value.magnitude == threshold {
                equal.append(index)
            }
        }
        return (above + equal.prefix(count - above.count)).sorted()
    }

    /// The element that would sit at `rank` in ascending order (Hoare's quickselect, middle pivot).
    private static func select(_ values: inout [Float], rank: Int) -> Float {
        var low = 0
        var high = values.count - 1
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low
            var j = high
            while i <= j {
                while values[i] < pivot { i += 1 }
                while values[j] > pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if rank <= j { high = j } else if rank >= i { low = i } else { return values[rank] }
        }
        return values[rank]
    }

    static func pack(_ levels: [Int], fourBit: Bool) -> [UInt8] {
        guard fourBit else { return levels.map { UInt8(truncatingIfNeeded: $0) } }
        var bytes = [UInt8](repeating: 0, count: (levels.count + 1) / 2)
        for (index, level) in levels.enumerated() {
            bytes[index / 2] |= UInt8(truncatingIfNeeded: level & 0xF) << (index % 2 == 0 ? 0 : 4)
        }
        return bytes
    }
}
