import Learning
import Wire

/// Which tensors each kind of round moves up the hierarchy, and how long each one is.
///
/// A training round moves one model delta (`delta` in an update, summed as `sum`); a statistics
/// round moves per-feature moments (`sum`, `sumSquares`, `count`), summed under the same names.
struct RoundTensors: Equatable {
    /// (name in an update, name in a partial) pairs.
    let names: [(update: String, partial: String)]
    /// Elements of every tensor of the round.
    let elementCount: Int

    static func == (lhs: RoundTensors, rhs: RoundTensors) -> Bool {
        lhs.elementCount == rhs.elementCount && lhs.names.map(\.update) == rhs.names.map(\.update)
    }

    static let statisticsNames = ["sum", "sumSquares", "count"]

    /// The tensors of the round a `round.open` announces; nil if its spec cannot be read.
    init?(_ message: Message<RoundOpen>) {
        switch message.body.kind {
        case .train:
            guard let weights = message.tensor(named: "weights") else { return nil }
            names = [("delta", "sum")]
            elementCount = weights.elementCount
        case .statistics:
            guard let spec = try? message.body.modelSpec.decoded(as: ModelSpec.self) else { return nil }
            names = Self.statisticsNames.map { ($0, $0) }
            elementCount = spec.features.count
        }
    }

    /// The partial-level names (what a global aggregator sums).
    var partialNames: [String] { names.map(\.partial) }
}
