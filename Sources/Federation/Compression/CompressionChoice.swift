public import Wire

/// The operator's `--compression` choice (`f32`, `q8`, `q4`, `topk:F`, `randk:F`, joined by
/// commas, with `rotate`): the shape of the setting, before the coordinator fills in each
/// round's range and public seed.
public struct CompressionChoice: Sendable, Equatable, CustomStringConvertible {
    public var quantization: CompressionSettings.Quantization = .f32
    public var sparsification: CompressionSettings.Sparsification = .none
    public var fraction: Double?
    public var rotate = false

    /// No compression: plain `f32le`.
    public static let none = CompressionChoice()

    /// Parses `q8`, `topk:0.1,q8`, `randk:0.1,q4,rotate`; nil (with why) for anything else.
    public static func parse(_ text: String) -> Result<CompressionChoice, CompressionChoiceError> {
        var choice = CompressionChoice()
        var seenQuantization = false
        var seenSparsification = false
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let pieces = part.split(separator: ":", maxSplits: 1).map(String.init)
            switch pieces.first ?? "" {
            case "f32", "q8", "q4":
                guard !seenQuantization, pieces.count == 1, let value = CompressionSettings.Quantization(rawValue: part)
                else { return .failure(CompressionChoiceError(text: text, why: "one of f32, q8, q4 at most")) }
                seenQuantization = true
                choice.quantization = value
            case "topk", "randk":
                guard !seenSparsification, pieces.count == 2, let fraction = Double(pieces[1]),
                    fraction.isFinite, fraction > 0, fraction <= 1
                else {
                    return .failure(CompressionChoiceError(text: text, why: "one of topk:F, randk:F with F in (0, 1]"))
                }
                seenSparsification = true
                choice.sparsification = pieces[0] == "topk" ? .topk : .randk
                choice.fraction = fraction
            case "rotate":
                guard !choice.rotate, pieces.count == 1 else {
                    return .failure(CompressionChoiceError(text: text, why: "rotate once"))
                }
                choice.rotate = true
            default:
                return .failure(CompressionChoiceError(text: text, why: "unknown part \"\(part)\""))
            }
        }
        return .success(choice)
    }

    /// Whether anything but plain `f32le` is sent.
    public var isCompressed: Bool { self != .none }

    /// The round's setting: `range` is R for quantization (the rule: C under DP, whose clipped
    /// coordinates lie in [−C, C]), `seed` the round's public value for `randk` and rotation.
    public func settings(range: Double, seed: Int) -> CompressionSettings? {
        guard isCompressed else { return nil }
        return CompressionSettings(
            quantization: quantization,
            sparsification: sparsification,
            fraction: fraction,
            rotate: rotate,
            range: quantization == .f32 ? nil : range,
            seed: rotate || sparsification == .randk ? seed : nil
        )
    }

    public var description: String {
        var parts: [String] = []
        if let fraction, sparsification != .none { parts.append("\(sparsification.rawValue):\(fraction)") }
        if quantization != .f32 || parts.isEmpty { parts.append(quantization.rawValue) }
        if rotate { parts.append("rotate") }
        return parts.joined(separator: ",")
    }
}

/// Why a `--compression` value was refused.
public struct CompressionChoiceError: Error, CustomStringConvertible {
    public var text: String
    public var why: String
    public var description: String { "--compression \(text): \(why)" }
}
