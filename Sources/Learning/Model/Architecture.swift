/// The shape of a model: which family it belongs to and, for an MLP, its hidden layer widths.
///
/// The architecture travels in the model spec with every broadcast model, so a worker can check
/// that the parameter vector it received fits the network it is about to train. It is an open
/// set (a struct with static members, not a public enum) so that adding a family later does not
/// break exhaustive switches in other modules.
public struct Architecture: Codable, Sendable, Hashable, CustomStringConvertible {
    /// A model family; the raw value is what appears in JSON and on the CLI.
    public struct Family: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// One sigmoid output over a linear score; binary tasks only.
        public static let logisticRegression = Family(rawValue: "logistic-regression")
        /// One linear score per class and a softmax.
        public static let softmaxRegression = Family(rawValue: "softmax-regression")
        /// One or two ReLU hidden layers; a sigmoid output for two classes, softmax otherwise.
        public static let mlp = Family(rawValue: "mlp")
    }

    /// The model family.
    public var family: Family
    /// Widths of the ReLU hidden layers, input side first; empty for the linear families.
    public var hiddenLayers: [Int]

    /// Binary logistic regression.
    public static let logisticRegression = Architecture(family: .logisticRegression, hiddenLayers: [])
    /// Multinomial (softmax) regression.
    public static let softmaxRegression = Architecture(family: .softmaxRegression, hiddenLayers: [])
    /// A multilayer perceptron with one or two ReLU hidden layers of the given widths.
    public static func mlp(hiddenLayers: [Int]) -> Architecture {
        Architecture(family: .mlp, hiddenLayers: hiddenLayers)
    }

    public var description: String {
        hiddenLayers.isEmpty
            ? family.rawValue : "\(family.rawValue)(\(hiddenLayers.map(String.init).joined(separator: "-")))"
    }

    /// Why the architecture cannot serve `classCount` classes, or nil when it can.
    func problem(classCount: Int) -> String? {
        switch family {
        case .logisticRegression:
            if classCount != 2 { return "logistic regression needs exactly 2 labels, got \(classCount)" }
            if !hiddenLayers.isEmpty { return "logistic regression has no hidden layers" }
        case .softmaxRegression:
            if classCount < 2 { return "softmax regression needs at least 2 labels, got \(classCount)" }
            if !hiddenLayers.isEmpty { return "softmax regression has no hidden layers" }
        case .mlp:
            if classCount < 2 { return "an MLP classifier needs at least 2 labels, got \(classCount)" }
            if !(1...2).contains(hiddenLayers.count) { return "an MLP has one or two hidden layers" }
            if let bad = hiddenLayers.first(where: { !(1...4096).contains($0) }) {
                return "hidden layer width \(bad) is outside 1...4096"
            }
        default:
            return "unknown model family '\(family.rawValue)'"
        }
        return nil
    }

    /// Number of output units: one logit for a binary sigmoid model, one per class otherwise.
    func outputWidth(classCount: Int) -> Int {
        switch family {
        case .softmaxRegression: return classCount
        default: return classCount == 2 ? 1 : classCount
        }
    }
}
