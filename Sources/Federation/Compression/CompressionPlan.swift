import Learning
public import Wire

/// What a round's compression setting means for a model of d parameters: how many coordinates
/// are kept, which (for `randk`), how long the value frame is, and how values are quantized.
///
/// The edge and the shard build it from the same `round.open`, so they agree on every length
/// without the update saying anything about it; a shard then only accepts updates of exactly
/// this shape.
public struct CompressionPlan: Sendable {
    /// The announced setting.
    public let settings: CompressionSettings
    /// d.
    public let parameterCount: Int
    /// k: coordinates sent, ⌈F·d⌉ clamped to 1…d (d when not sparsified).
    public let keptCount: Int
    /// Elements in the `delta` frame: k, or k padded to a power of two when rotating.
    public let valueCount: Int
    /// The `randk` coordinates (sorted), from the public seed; nil otherwise.
    let sharedIndices: [Int]?
    let rotation: HadamardRotation?
    let quantizer: StochasticQuantizer?

    /// The plan, or why `settings` cannot apply to this model (`shapeMismatch`).
    public static func make(
        _ settings: CompressionSettings,
        parameterCount: Int,
        roundId: Int
    ) -> Result<CompressionPlan, WireError> {
        guard parameterCount > 0 else {
            return .failure(WireError(code: .shapeMismatch, detail: "compression of an empty model"))
        }
        let kept: Int
        switch settings.sparsification {
        case .none: kept = parameterCount
        case .topk, .randk:
            let wanted = ((settings.fraction ?? 1) * Double(parameterCount)).rounded(.up)
            kept = wanted >= Double(parameterCount) ? parameterCount : max(1, Int(wanted))
        }
        let seed = UInt64(bitPattern: Int64(settings.seed ?? 0))
        var rotation: HadamardRotation?
        var valueCount = kept
        if settings.rotate {
            guard let padded = HadamardRotation.paddedCount(kept) else {
                return .failure(WireError(code: .shapeMismatch, detail: "\(kept) values cannot be rotated"))
            }
            valueCount = padded
            rotation = HadamardRotation(count: padded, seed: seed, roundId: roundId)
        }
        var shared: [Int]?
        if settings.sparsification == .randk {
            shared = Self.randomSubset(of: parameterCount, count: kept, seed: seed, roundId: roundId)
        }
        var quantizer: StochasticQuantizer?
        switch settings.quantization {
        case .f32: quantizer = nil
        case .q8: quantizer = StochasticQuantizer(levels: 255, range: Float(settings.range ?? 1))
        case .q4: quantizer = StochasticQuantizer(levels: 15, range: Float(settings.range ?? 1))
        }
        // A range the wire accepts as a Double can be a Float so small that its step is not a
        // normal number (1e-44: the step rounds to 0): no level grid to quantize to.
        if let quantizer, !(quantizer.range.isNormal && quantizer.step.isNormal) {
            return .failure(
                WireError(
                    code: .malformedHeader,
                    detail:
                        "compression range \(settings.range ?? 1) has no usable \(quantizer.levels + 1)-level step in Float"
                )
            )
        }
        return .success(
            CompressionPlan(
                settings: settings,
                parameterCount: parameterCount,
                keptCount: kept,
                valueCount: valueCount,
                sharedIndices: shared,
                rotation: rotation,
                quantizer: quantizer
            )
        )
    }

    /// The wire encoding of the `delta` frame.
    public var valueEncoding: TensorEncoding {
        switch settings.quantization {
        case .f32: .f32le
        case .q8: .q8
        case .q4: .q4
        }
    }

    /// The tensors an update carries, in order.
    public var tensorNames: [String] { settings.sparsification == .topk ? ["delta", "deltaIndex"] : ["delta"] }

    /// The largest distance ‖decode(encode(x)) − x‖₂ that quantization can add: every value
    /// moves by less than one step, over `valueCount` values (the inverse rotation keeps the
    /// norm, truncation only shrinks it). Zero without quantization.
    public var quantizationErrorBound: Double {
        guard let quantizer else { return 0 }
        return Double(quantizer.step) * Double(valueCount).squareRoot()
    }

    /// The standard deviation that stochastic rounding adds per value, at most step ÷ 2.
    public var quantizationStandardDeviation: Double {
        guard let quantizer else { return 0 }
        return Double(quantizer.step) / 2
    }

    /// A uniformly random k-subset of 0..<d from the public seed, sorted (partial Fisher–Yates).
    static func randomSubset(of count: Int, count kept: Int, seed: UInt64, roundId: Int) -> [Int] {
        var rng = SeededGenerator(seed: seed, stream: 0x7261_6E64_6B, UInt64(truncatingIfNeeded: roundId))
        var pool = Array(0..<count)
        for index in 0..<kept {
            let pick = index + Int(rng.next(upperBound: UInt64(count - index)))
            pool.swapAt(index, pick)
        }
        return pool[0..<kept].sorted()
    }
}
