/// The choices that turn a CSV header into a model spec: what a user gives on the command line
/// (`--features`, `--label-column`, `--classes`, `--model`).
public struct TabularSpecRequest: Sendable, Hashable {
    /// The column holding the class.
    public var labelColumn = ModelSpec.defaultLabelColumn
    /// The feature columns, in input order; nil takes every numeric column but the label.
    public var features: [String]?
    /// The class names, negative class first for two; nil takes them from a profile.
    public var classes: [String]?
    /// The model; nil picks logistic regression for two classes and softmax regression otherwise.
    public var architecture: Architecture?

    public init(
        labelColumn: String = ModelSpec.defaultLabelColumn,
        features: [String]? = nil,
        classes: [String]? = nil,
        architecture: Architecture? = nil
    ) {
        self.labelColumn = labelColumn
        self.features = features
        self.classes = classes
        self.architecture = architecture
    }
}

extension ModelSpec {
    /// Scaling of a feature nothing is known about yet: the raw value itself. A federated
    /// statistics round (or a profile of the operator's own hold-out) replaces it.
    public static let unitScaling = FeatureScaling.standardize(mean: 0, standardDeviation: 1)

    /// A spec for arbitrary tabular exports, from a header line and, optionally, a profile of
    /// a file the operator owns (for which columns are numeric, the class names and scaling).
    ///
    /// Every feature may be missing (an empty cell or `NA` gets availability flag 0), because a
    /// header says nothing about which devices measure what, and a flag costs one weight.
    ///
    /// - Parameter source: the file the header came from, for messages.
    public static func tabular(
        header: [String],
        source: String,
        request: TabularSpecRequest,
        profile: CSVColumnProfile? = nil
    ) throws(LearningError) -> ModelSpec {
        func invalid(_ detail: String) -> LearningError { LearningError(code: .invalidSpec, detail: detail) }
        let label = request.labelColumn
        guard header.contains(label) else {
            throw invalid(
                "\(source) has no label column '\(label)' (columns: \(listed(header))); name it with --label-column"
            )
        }
        let excluded = Set(profile?.nonNumeric ?? [])
        let names: [String]
        if let chosen = request.features {
            if let unknown = chosen.first(where: { !header.contains($0) }) {
                throw invalid("feature '\(unknown)' is not a column of \(source) (columns: \(listed(header)))")
            }
            if let text = chosen.first(where: excluded.contains) {
                throw invalid("feature '\(text)' holds values that are not numbers in \(source)")
            }
            if chosen.contains(label) { throw invalid("'\(label)' is the label column and cannot also be a feature") }
            names = chosen
        } else {
            names = header.filter { $0 != label && !excluded.contains($0) }
        }
        guard !names.isEmpty else { throw invalid("\(source) has no numeric column besides the label '\(label)'") }
        guard let classes = request.classes ?? profile?.labelValues else {
            throw invalid(
                "the class names are unknown: give them with --classes (a device's export is never read for them)"
            )
        }
        let architecture = request.architecture ?? (classes.count == 2 ? .logisticRegression : .softmaxRegression)
        let features = names.map { name in
            Feature(name: name, scaling: profile?.scaling[name] ?? unitScaling, mayBeMissing: true)
        }
        return try ModelSpec(architecture: architecture, features: features, labels: classes, labelColumn: label)
    }

    /// Class names in a stable order: numerically when every name is an integer (`2` before
    /// `10`), otherwise by their text. For two classes the second is the positive class, so
    /// `0`/`1`, `no`/`yes` and `negative`/`positive` come out the way people mean them.
    public static func orderedClasses(_ values: some Sequence<String>) -> [String] {
        let unique = Array(Set(values))
        let integers = unique.compactMap { Int($0) }
        if integers.count == unique.count {
            return unique.sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) }
        }
        return unique.sorted()
    }

    private static func listed(_ names: [String]) -> String {
        names.prefix(40).joined(separator: ", ") + (names.count > 40 ? ", …" : "")
    }
}
