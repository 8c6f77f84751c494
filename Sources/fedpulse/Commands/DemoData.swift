import ArgumentParser
import Foundation
import Learning
import Runtime

/// The demo's `--data-dir` turned into the spec every role gets, the scaling the run uses and
/// what the report says about the data.
struct DemoData {
    let spec: ModelSpec
    let scaling: DemoScaling
    let summary: DataSourceSummary

    init(directory: String, options: DataSpecOptions, learning: LearningOptions, scaling: String?, dp: String) throws {
        let data = try DataDirectory(scanning: URL(fileURLWithPath: directory, isDirectory: true))
        let built: DataDirectory.BuiltSpec
        if let file = options.spec {
            built = DataDirectory.BuiltSpec(spec: try DataSpecOptions.load(file), source: file)
        } else {
            built = try data.spec(request: try options.request(learning: learning))
        }
        spec = built.spec
        summary = DataSourceSummary(directory: data, built: built)
        // Without DP the devices can tell the coordinator their feature statistics; under DP
        // that round is not private yet, so the hold-out (the operator's own data) scales.
        switch scaling ?? (options.spec != nil ? nil : dp == "off" ? "federated" : "holdout") {
        case "federated":
            self.scaling = .federated
        case "holdout":
            guard built.scaledByHoldout else {
                throw ValidationError(
                    "hold-out scaling needs a spec built from \(directory)/test.csv, and there is none; run with --dp off (federated statistics) or give --spec FILE with scaling"
                )
            }
            self.scaling = .holdout
        default:
            self.scaling = .specConstants
        }
    }
}
