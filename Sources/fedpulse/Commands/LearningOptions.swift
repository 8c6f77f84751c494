import Foundation
import ArgumentParser
import Learning

/// The task, model and synthetic-data flags shared by the coordinator, the edge and the demo.
struct LearningOptions: ParsableArguments {
    @Option(help: "Learning task: sleep-quality (binary) or activity (five classes).")
    var task: String = "sleep-quality"

    @Option(help: "Model: logistic, softmax or mlp (default: the task's own: logistic for sleep-quality, softmax for activity).")
    var model: String?

    @Option(help: "Hidden layer widths of the mlp model, comma-separated (one or two layers).")
    var hidden: String = "16"

    @Option(help: "Seed of the synthetic data, the initial model and cohort sampling.")
    var seed: UInt64 = 7

    @Option(help: "Mean records (days) per synthetic user.")
    var recordsPerUser: Int = 60

    @Option(help: "Dirichlet α of the label skew across synthetic users (smaller is more skewed; omit for none).")
    var labelSkewAlpha: Double?

    func validate() throws {
        guard LearningTask(rawValue: task) != nil else { throw ValidationError("--task must be sleep-quality or activity") }
        if let model, !["logistic", "softmax", "mlp"].contains(model) {
            throw ValidationError("--model must be logistic, softmax or mlp")
        }
        guard recordsPerUser >= 2 else { throw ValidationError("--records-per-user must be at least 2") }
        _ = try hiddenLayers()
    }

    func hiddenLayers() throws -> [Int] {
        let widths = hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(widths.count), widths.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--hidden takes one or two positive widths, e.g. 16 or 32,16")
        }
        return widths
    }

    /// The same flags as arguments, for the processes the demo starts.
    var passThrough: [String] {
        var arguments = ["--task", task, "--hidden", hidden, "--seed", "\(seed)", "--records-per-user", "\(recordsPerUser)"]
        if let model { arguments += ["--model", model] }
        if let labelSkewAlpha { arguments += ["--label-skew-alpha", "\(labelSkewAlpha)"] }
        return arguments
    }

    var learningTask: LearningTask { LearningTask(rawValue: task) ?? .sleepQuality }

    func spec() throws -> ModelSpec {
        let architecture: Architecture? =
            switch model {
            case "logistic": .logisticRegression
            case "softmax": .softmaxRegression
            case "mlp": .mlp(hiddenLayers: try hiddenLayers())
            default: nil
            }
        return try ModelSpec.wearable(task: learningTask, architecture: architecture)
    }

    func generator() -> SyntheticWearables {
        SyntheticWearables(
            task: learningTask, seed: seed,
            options: .init(meanRecordsPerUser: recordsPerUser, labelSkewAlpha: labelSkewAlpha)
        )
    }
}
