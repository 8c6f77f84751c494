import Learning
public import Wire

/// Which tensors each kind of round moves up the hierarchy, and how long each one is.
///
/// A training round moves one model delta (`delta` in an update, summed as `sum`); a statistics
/// round moves per-feature moments (`sum`, `sumSquares`, `count`), summed under the same names.
/// Shards and the global aggregator read it from the same `round.open`, so they agree on it.
public struct TensorLayout: Sendable, Equatable {
    /// Names in an update, in order.
    public let updateNames: [String]
    /// Names in a partial, in the same order.
    public let partialNames: [String]
    /// Elements of every tensor of the round.
    public let elementCount: Int

    /// The moments of a statistics round, as updates and partials name them.
    public static let statisticsNames = ["sum", "sumSquares", "count"]

    /// The tensors of the round a `round.open` announces; nil if its weights or spec cannot be read.
    public init?(_ message: Message<RoundOpen>) {
        switch message.body.kind {
        case .train:
            guard let weights = message.tensor(named: "weights") else { return nil }
            updateNames = ["delta"]
            partialNames = ["sum"]
            elementCount = weights.elementCount
        case .statistics:
            guard let spec = try? message.body.modelSpec.decoded(as: ModelSpec.self) else { return nil }
            updateNames = Self.statisticsNames
            partialNames = Self.statisticsNames
            elementCount = spec.features.count
        }
    }

    /// Picks this layout's tensors out of a message, in layout order, checking names, encoding,
    /// length and (where the sender gave one) the SHA-256 digest; the first fault is the answer.
    func tensors(
        named names: [String],
        in tensors: [Tensor],
        digest: (([UInt8]) -> String)
    ) -> Result<[Tensor], WireError> {
        var found: [Tensor] = []
        for name in names {
            guard let tensor = tensors.first(where: { $0.name == name }) else {
                return .failure(WireError(code: .frameCountMismatch, detail: "no \(name) tensor (expected \(names))"))
            }
            guard tensor.encoding == .f32le else {
                return .failure(
                    WireError(code: .unsupportedEncoding, detail: "\(name) is \(tensor.encoding), expected f32le")
                )
            }
            guard tensor.elementCount == elementCount, tensor.byteCount == elementCount &* 4 else {
                return .failure(
                    WireError(
                        code: .shapeMismatch,
                        detail: "\(name) has \(tensor.elementCount) elements, the round has \(elementCount)"
                    )
                )
            }
            if let claimed = tensor.sha256, digest(tensor.bytes) != claimed {
                return .failure(WireError(code: .digestMismatch, detail: "\(name) does not hash to its sha256"))
            }
            found.append(tensor)
        }
        guard tensors.count == names.count else {
            return .failure(WireError(code: .frameCountMismatch, detail: "\(tensors.count) tensors, expected \(names)"))
        }
        return .success(found)
    }
}
