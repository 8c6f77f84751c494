import Learning
public import Wire

/// The edge's last step before the wire: select, rotate and quantize a (clipped, noised) delta.
///
/// Under DP the order is clip → noise → encode, and stochastic rounding only adds zero-mean
/// variance (≤ step²/4 per value) on top of the noise; it removes none of it. Under local
/// noise that is post-processing; under distributed noise a device's rounding error depends on
/// its data, so the edge clips to C − 2·√d·u first (``quantizationErrorBound`` is √d·u).
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
        var levels: [UInt8] = []
        let fourBit = plan.settings.quantization == .q4
        if let quantizer = plan.quantizer {
            // One draw from the caller's generator seeds a fast one for the d roundings: the
            // system generator costs a system call per value (about 0.3 s per 10⁶ values).
            // Rounding needs independence from the data, not secrecy: the edge's clip bounds
            // its effect for every draw, so a predictable rounding weakens no DP guarantee.
            var rounding = SeededGenerator(seed: rng.next(), stream: rng.next())
            levels = Self.quantize(values, with: quantizer, fourBit: fourBit, using: &rounding)
            frames.append(
                .encoded(name: "delta", encoding: plan.valueEncoding, bytes: levels, elementCount: values.count)
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
        if plan.rotation == nil, let indices {
            // What the decoder will put at each kept index, without decoding our own frames:
            // the same `value(ofLevel:)` (or the float itself), so the residual is bit for bit
            // delta − decode(tensors), as the decoding path below computes it.
            if let quantizer = plan.quantizer {
                for (position, index) in indices.enumerated() {
                    let byte = fourBit ? levels[position / 2] >> (position % 2 == 0 ? 0 : 4) & 0xF : levels[position]
                    residual[index] -= quantizer.value(ofLevel: Int(byte))
                }
            } else {
                for (position, index) in indices.enumerated() { residual[index] -= values[position] }
            }
        } else if case .success(let sent) = UpdateDecoder(plan: plan).decode(frames) {
            // Our own frames always decode; the fallback keeps the whole delta for the next round.
            for index in residual.indices { residual[index] -= sent[index] }
        }
        return (frames, residual)
    }

    /// The indices of the k largest |values|, ascending (ties to the lower index).
    ///
    /// The k-th largest magnitude is found exactly by a radix select on the magnitudes' bit
    /// patterns (for non-negative floats, and NaN above ∞, the order of the patterns is the order
    /// of the values): a histogram of the top 16 bits, then one of the low 16 bits of the
    /// values in the bucket holding the rank. Two passes and no copy of the vector, where a
    /// quickselect on a copy of the magnitudes took most of a `topk` encode.
    static func largest(_ count: Int, of values: [Float]) -> [Int] {
        guard count < values.count else { return Array(values.indices) }
        guard count > 0 else { return [] }
        return values.withUnsafeBufferPointer { buffer in
            let (threshold, above) = Self.magnitudeKey(rank: values.count - count, in: buffer)
            // Ascending by construction: every index above the threshold, then as many ties as
            // fit, lowest first.
            var ties = count - above
            var kept: [Int] = []
            kept.reserveCapacity(count)
            for index in buffer.indices {
                let key = buffer[index].bitPattern & 0x7FFF_FFFF
                if key > threshold {
                    kept.append(index)
                } else if key == threshold && ties > 0 {
                    kept.append(index)
                    ties -= 1
                }
            }
            return kept
        }
    }

    /// The magnitude key (bit pattern without the sign) at `rank` in ascending order, and how
    /// many keys lie strictly above it.
    private static func magnitudeKey(rank: Int, in values: UnsafeBufferPointer<Float>) -> (key: UInt32, above: Int) {
        var high = [Int](repeating: 0, count: 1 << 15)
        for value in values { high[Int((value.bitPattern & 0x7FFF_FFFF) >> 16)] += 1 }
        var below = 0
        var bucket = 0
        while below + high[bucket] <= rank {
            below += high[bucket]
            bucket += 1
        }
        let aboveBucket = values.count - below - high[bucket]
        var low = [Int](repeating: 0, count: 1 << 16)
        let prefix = UInt32(bucket)
        for value in values {
            let key = value.bitPattern & 0x7FFF_FFFF
            if key >> 16 == prefix { low[Int(key & 0xFFFF)] += 1 }
        }
        var position = 0
        var withinBelow = below
        while withinBelow + low[position] <= rank {
            withinBelow += low[position]
            position += 1
        }
        let aboveInBucket = below + high[bucket] - withinBelow - low[position]
        return (prefix << 16 | UInt32(position), aboveBucket + aboveInBucket)
    }

    /// The stochastic levels of `values`, one byte each (q8) or two to a byte, low nibble first (q4).
    static func quantize(
        _ values: [Float],
        with quantizer: StochasticQuantizer,
        fourBit: Bool,
        using rng: inout some RandomNumberGenerator
    ) -> [UInt8] {
        // Plain loops over buffers: a `map` whose closure captures the generator `inout` was not
        // inlined and took 2.7× the q4 loop for twice fewer levels per byte.
        guard fourBit else {
            return [UInt8](unsafeUninitializedCapacity: values.count) { bytes, initialized in
                for index in values.indices {
                    bytes[index] = UInt8(truncatingIfNeeded: quantizer.level(of: values[index], using: &rng))
                }
                initialized = values.count
            }
        }
        var bytes = [UInt8](repeating: 0, count: (values.count + 1) / 2)
        for (index, value) in values.enumerated() {
            let level = UInt8(truncatingIfNeeded: quantizer.level(of: value, using: &rng) & 0xF)
            bytes[index / 2] |= level << (index % 2 == 0 ? 0 : 4)
        }
        return bytes
    }
}
