public import Wire

/// The shard's strict reading of a compressed update, back to d floats.
///
/// Every length comes from the round's plan, never from the update: the value frame must have
/// exactly the planned element count and encoding, a `topk` index frame exactly k strictly
/// increasing in-range indices and no trailing byte, a `q4` frame a zero pad nibble. Memory is
/// O(model) per update (one d-float result, one value buffer); the caller folds it into its
/// running sum and drops it before the next update.
public struct UpdateDecoder: Sendable {
    /// The round's plan.
    public let plan: CompressionPlan

    /// A decoder for a round's plan.
    public init(plan: CompressionPlan) {
        self.plan = plan
    }

    /// The dense delta, or the first reason the tensors are not exactly what the plan says.
    public func decode(_ tensors: [Tensor]) -> Result<[Float], WireError> {
        let names = plan.tensorNames
        guard tensors.count == names.count, tensors.map(\.name) == names else {
            return .failure(
                WireError(code: .frameCountMismatch, detail: "tensors \(tensors.map(\.name)), expected \(names)")
            )
        }
        let valueFrame = tensors[0]
        guard valueFrame.encoding == plan.valueEncoding else {
            return .failure(
                WireError(
                    code: .unsupportedEncoding,
                    detail: "delta is \(valueFrame.encoding), the round announced \(plan.valueEncoding)"
                )
            )
        }
        guard valueFrame.elementCount == plan.valueCount else {
            return .failure(
                WireError(
                    code: .shapeMismatch,
                    detail: "delta has \(valueFrame.elementCount) values, the round expects \(plan.valueCount)"
                )
            )
        }
        var values: [Float]
        switch readValues(valueFrame) {
        case .failure(let error): return .failure(error)
        case .success(let read): values = read
        }
        plan.rotation?.unrotate(&values)
        let indices: [Int]?
        switch plan.settings.sparsification {
        case .none: indices = nil
        case .randk: indices = plan.sharedIndices
        case .topk:
            let indexFrame = tensors[1]
            guard indexFrame.encoding == .gapRice || indexFrame.encoding == .gapVarint else {
                return .failure(WireError(code: .unsupportedEncoding, detail: "deltaIndex is \(indexFrame.encoding)"))
            }
            guard indexFrame.elementCount == plan.keptCount else {
                return .failure(
                    WireError(
                        code: .shapeMismatch,
                        detail: "deltaIndex has \(indexFrame.elementCount) indices, the round keeps \(plan.keptCount)"
                    )
                )
            }
            let decoded =
                indexFrame.encoding == .gapRice
                ? GapRice.decode(indexFrame.bytes, count: plan.keptCount, bound: plan.parameterCount)
                : GapVarint.decode(indexFrame.bytes, count: plan.keptCount, bound: plan.parameterCount)
            switch decoded {
            case .failure(let error): return .failure(error)
            case .success(let read): indices = read
            }
        }
        guard let indices else {
            values.removeLast(values.count - plan.parameterCount)
            return .success(values)
        }
        var dense = [Float](repeating: 0, count: plan.parameterCount)
        for (position, index) in indices.enumerated() { dense[index] = values[position] }
        return .success(dense)
    }

    private func readValues(_ frame: Tensor) -> Result<[Float], WireError> {
        guard let quantizer = plan.quantizer else { return .success(frame.floats()) }
        let count = frame.elementCount
        let bytes = frame.bytes
        if plan.settings.quantization == .q4 {
            guard bytes.count == (count + 1) / 2 else {
                return .failure(WireError(code: .byteLengthMismatch, detail: "q4 delta of \(bytes.count) bytes"))
            }
            if count % 2 == 1, let last = bytes.last, last >> 4 != 0 {
                return .failure(WireError(code: .byteLengthMismatch, detail: "q4 pad nibble is not zero"))
            }
            return .success(
                (0..<count).map { index in
                    let byte = bytes[index / 2]
                    return quantizer.value(ofLevel: Int(index % 2 == 0 ? byte & 0xF : byte >> 4))
                }
            )
        }
        guard bytes.count == count else {
            return .failure(WireError(code: .byteLengthMismatch, detail: "q8 delta of \(bytes.count) bytes"))
        }
        return .success(bytes.map { quantizer.value(ofLevel: Int($0)) })
    }
}
