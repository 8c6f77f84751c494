import Federation
import Foundation
import Learning

/// Benchmarks of the learning core, as a Markdown section for `make bench`.
///
/// Measures what the design promises: local training of a watch-sized job is fast enough to be
/// negligible on a device, and streaming aggregation runs close to memory bandwidth, so a shard
/// is limited by its network, not by summing. Each figure is the median of several repetitions
/// on one core, timed with `ContinuousClock`. Run in release (`swift run -c release`).
func learningBenchmarks() -> String {
    var lines = ["## Learning core", ""]
    lines.append("### Local training (one core, one synthetic watch user)")
    lines.append("")
    lines.append("| model | task | parameters | examples | epochs | median time | examples/s |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    let models: [(LearningTask, Architecture)] = [
        (.sleepQuality, .logisticRegression),
        (.activity, .softmaxRegression),
        (.sleepQuality, .mlp(hiddenLayers: [16])),
        (.activity, .mlp(hiddenLayers: [32, 16])),
    ]
    for (task, architecture) in models {
        lines.append(trainingRow(task: task, architecture: architecture))
    }
    lines.append("")
    lines.append("### Aggregation: accumulating one update vs memcpy of the same bytes")
    lines.append("")
    lines.append("| parameters | bytes | accumulate | memcpy | accumulate GB/s | memcpy GB/s | ratio |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for count in [10_000, 1_000_000, 10_000_000] {
        lines.append(accumulateRow(parameterCount: count))
    }
    lines.append("")
    lines.append("Ratio = accumulate bandwidth / memcpy bandwidth over the update's bytes (target ≥ 0.5 at 10⁶).")
    lines.append(
        "Accumulate reads the update and the running sum and writes the sum; memcpy reads once and writes once."
    )
    return lines.joined(separator: "\n") + "\n"
}

private func trainingRow(task: LearningTask, architecture: Architecture) -> String {
    do {
        let spec = try ModelSpec.wearable(task: task, architecture: architecture)
        let generator = SyntheticWearables(
            task: task,
            seed: 42,
            options: .init(meanRecordsPerUser: 375, quantitySkew: 0, holdOutFraction: 0.2)
        )
        let data = try generator.userData(userIndex: 0, deviceClass: .watch, spec: spec).train
        let config = TrainingConfig(learningRate: 0.05, localEpochs: 5, batchSize: 16)
        let start = spec.initialWeights(seed: 1)
        var rng = SeededGenerator(seed: 3)
        var sink: Float = 0
        let time = medianDuration(repetitions: 11) {
            if let weights = try? LocalTrainer.train(
                spec: spec,
                globalWeights: start,
                data: data,
                config: config,
                rng: &rng
            ) {
                sink += weights[0]
            }
        }
        let examples = data.count * config.localEpochs
        let rate = Double(examples) / seconds(time)
        precondition(sink.isFinite || !sink.isFinite)  // keeps the work observable
        return
            "| \(architecture) | \(task.rawValue) | \(spec.parameterCount) | \(data.count) | \(config.localEpochs) | "
            + "\(format(time)) | \(Int(rate).formatted()) |"
    } catch {
        return "| \(architecture) | \(task.rawValue) | failed: \(error) | | | | |"
    }
}

private func accumulateRow(parameterCount: Int) -> String {
    let strategy = FedAvg()
    let update = (0..<parameterCount).map { Float($0 % 1000) * 1e-3 }
    var accumulator = strategy.makeAccumulator(parameterCount: parameterCount)
    var destination = [Float](repeating: 0, count: parameterCount)
    let bytes = parameterCount * MemoryLayout<Float>.stride
    // Enough inner iterations that one sample takes a few milliseconds.
    let inner = max(1, 20_000_000 / parameterCount)
    let accumulateTime = medianDuration(repetitions: 9) {
        for _ in 0..<inner { strategy.accumulate(update, weight: 1, into: &accumulator) }
    }
    let copyTime = medianDuration(repetitions: 9) {
        update.withUnsafeBytes { source in
            destination.withUnsafeMutableBytes { target in
                for _ in 0..<inner {
                    guard let to = target.baseAddress, let from = source.baseAddress else { return }
                    memcpy(to, from, bytes)
                }
            }
        }
    }
    precondition(accumulator.count > 0 && destination.count == parameterCount)
    let perAccumulate = seconds(accumulateTime) / Double(inner)
    let perCopy = seconds(copyTime) / Double(inner)
    let accumulateRate = Double(bytes) / perAccumulate / 1e9
    let copyRate = Double(bytes) / perCopy / 1e9
    return "| \(parameterCount.formatted()) | \(bytes.formatted()) | \(format(perAccumulate)) | \(format(perCopy)) | "
        + "\(String(format: "%.1f", accumulateRate)) | \(String(format: "%.1f", copyRate)) | "
        + "\(String(format: "%.2f", accumulateRate / copyRate)) |"
}

private func medianDuration(repetitions: Int, _ body: () -> Void) -> Duration {
    let clock = ContinuousClock()
    body()  // warm caches and page in memory
    var samples: [Duration] = []
    for _ in 0..<repetitions {
        samples.append(clock.measure(body))
    }
    samples.sort()
    return samples[samples.count / 2]
}

private func seconds(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) * 1e-18
}

private func format(_ duration: Duration) -> String { format(seconds(duration)) }

private func format(_ seconds: Double) -> String {
    switch seconds {
    case ..<1e-3: String(format: "%.1f µs", seconds * 1e6)
    case ..<1: String(format: "%.2f ms", seconds * 1e3)
    default: String(format: "%.2f s", seconds)
    }
}
