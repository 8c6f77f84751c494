import ArgumentParser
import Foundation
import Learning

/// The flags that describe a model over the user's own CSV columns instead of the wearable
/// catalogue, shared by the coordinator, the edge and the demo.
///
/// The coordinator never reads a device's data, so for it and for every edge the spec comes
/// from flags or from a spec file, and all of them must be given the same ones: a device checks
/// its export against that spec at start and names the file, line and column of the first
/// cell that does not fit. The demo builds the spec from its data directory's headers and
/// hands every role the same file.
struct DataSpecOptions: ParsableArguments {
    @Option(
        help:
            "A model spec JSON file (the demo writes one as REPORT/spec.json): architecture, features with scaling, label column, classes."
    )
    var spec: String?

    @Option(
        help:
            "Feature columns of your CSV exports, comma-separated, in input order (instead of the wearable features; needs --classes outside the demo)."
    )
    var features: String?

    @Option(help: "The CSV column holding the class (default: label).")
    var labelColumn: String?

    @Option(help: "Class names in label order, comma-separated; with two, the second is the positive class.")
    var classes: String?

    func validate() throws {
        guard spec == nil || (features == nil && labelColumn == nil && classes == nil) else {
            throw ValidationError("--spec already names the features, label column and classes; give it alone")
        }
        if let features, Self.list(features).isEmpty { throw ValidationError("--features lists no column") }
        if let classes, Self.list(classes).count < 2 { throw ValidationError("--classes needs at least two names") }
        if let labelColumn, labelColumn.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--label-column needs a name")
        }
    }

    /// Whether the spec is made from these flags or a file rather than a built-in task.
    var isGiven: Bool { spec != nil || features != nil || labelColumn != nil || classes != nil }

    /// The spec a role (coordinator or edge) runs with: from `--spec`, from `--features …`, or
    /// the built-in task's.
    func spec(learning: LearningOptions) throws -> ModelSpec {
        if let spec { return try Self.load(spec) }
        guard features != nil else {
            guard labelColumn == nil && classes == nil else {
                throw ValidationError("--label-column and --classes describe your own columns: give --features too")
            }
            return try learning.spec()
        }
        var request = try request(learning: learning)
        guard request.classes != nil else {
            throw ValidationError("--features needs --classes: a role never reads a device's data to find them")
        }
        let features = request.features ?? []
        request.features = features
        return try ModelSpec.tabular(header: features + [request.labelColumn], source: "--features", request: request)
    }

    /// Whether the coordinator runs a statistics round first: always for a spec from
    /// `--features`, whose scaling is unknown until then, so that cannot be combined with DP
    /// (the statistics round is not private yet).
    func federatedStatistics(requested: String, privateRun: Bool) throws -> Bool {
        guard features != nil else { return requested == "federated" }
        if privateRun {
            throw ValidationError(
                "--features gives no scaling, and the federated statistics round that finds it is not private; under --dp give --spec FILE with scaling constants"
            )
        }
        return true
    }

    /// The request for a spec built from a header (the demo's data directory).
    func request(learning: LearningOptions) throws -> TabularSpecRequest {
        TabularSpecRequest(
            labelColumn: labelColumn?.trimmingCharacters(in: .whitespaces) ?? ModelSpec.defaultLabelColumn,
            features: features.map(Self.list),
            classes: classes.map(Self.list),
            architecture: try Self.architecture(learning)
        )
    }

    /// `--model` without the task it defaults from: the class count of your data decides.
    private static func architecture(_ learning: LearningOptions) throws -> Architecture? {
        switch learning.model {
        case "logistic": .logisticRegression
        case "softmax": .softmaxRegression
        case "mlp": .mlp(hiddenLayers: try learning.hiddenLayers())
        default: nil
        }
    }

    /// Reads a spec file; its decoder checks it as strictly as a broadcast spec.
    static func load(_ path: String) throws -> ModelSpec {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--spec \(path): cannot read the file")
        }
        do {
            return try JSONDecoder().decode(ModelSpec.self, from: data)
        } catch {
            throw ValidationError("--spec \(path): not a model spec: \(error)")
        }
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
