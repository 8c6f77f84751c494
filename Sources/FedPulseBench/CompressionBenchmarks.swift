import Federation
import Foundation
import Learning
import Wire

/// Issue 11: what each update encoding saves and costs. Three measurements, all in this run:
/// real `fedpulse demo` federations (bytes on the wire and final accuracy against f32 with the
/// same seed), tensor bytes of one real 10⁵-parameter MLP delta (the demo's logistic model has
/// so few parameters that message headers dominate its wire bytes), and encode + decode time
/// of 10⁶ parameters in this process with the edge's own random source.

/// The encodings measured, f32 first (every ratio is against it).
let benchEncodings = ["f32", "q8", "q4", "topk:0.1", "topk:0.1,q8", "randk:0.1,q8", "q8,rotate"]

func compressionBenchmarks(
    fedpulse: String,
    encodings: [String],
    devicesPerClass: Int,
    rounds: Int,
    parameterCount: Int,
    workDirectory: String
) throws -> String {
    let choices = try compressionChoices(encodings)
    guard choices.first?.1 == CompressionChoice.none else { throw BenchError("--encodings must start with f32") }
    var runs: [(String, DemoRunResult)] = []
    for (text, _) in choices {
        runs.append(
            (
                text,
                try runDemo(
                    fedpulse: fedpulse,
                    devicesPerClass: devicesPerClass,
                    devicesPerProcess: nil,
                    privacy: "off",
                    rounds: rounds,
                    workDirectory: workDirectory,
                    extraArguments: ["--compression", text],
                    label: "compression-" + text.replacingOccurrences(of: ",", with: "+")
                )
            )
        )
    }
    let mlp = try mlpDelta(parameters: 100_000)
    var lines: [String] = []
    var targets: [String] = []
    lines.append("#### Over real processes: `fedpulse demo`, logistic regression, `--dp off`, seed 7")
    lines.append("")
    lines.append("Commands (one per row):")
    lines.append("")
    for (_, run) in runs { lines.append("    \(run.command)") }
    lines.append("")
    lines.append(
        "Bytes up are every `update` message the shards admitted (header and tensor frames), mean per round. "
            + "The logistic model has \(logisticParameterCount()) parameters, so the JSON header of an update is most "
            + "of its size and the wire ratio stays small; the next table isolates the tensors."
    )
    lines.append("")
    lines.append("| encoding | bytes up per round | ÷ f32 | final accuracy | vs f32 (points) |")
    lines.append("|---|---:|---:|---:|---:|")
    let reference = runs[0].1
    let referenceBytes = meanBytesUp(reference)
    let referenceAccuracy = reference.summary.finalAccuracy ?? .nan
    var wire: [String: (bytesRatio: Double, points: Double)] = [:]
    for (text, run) in runs {
        let bytes = meanBytesUp(run)
        let accuracy = run.summary.finalAccuracy ?? .nan
        let points = (accuracy - referenceAccuracy) * 100
        wire[text] = (referenceBytes / bytes, points)
        lines.append(
            "| `\(text)` | \(Int(bytes.rounded())) | "
                + String(format: "%.2f× fewer | %.2f %% | %+.2f |", referenceBytes / bytes, accuracy * 100, points)
        )
    }
    lines.append("")
    lines.append(
        "#### Tensor bytes of one update: an MLP of \(mlp.spec.parameterCount) parameters (hidden \(mlp.spec.architecture.hiddenLayers)), in process"
    )
    lines.append("")
    lines.append(
        "The delta of one local training run (1 epoch, one synthetic watch user) from the initial weights; range R = "
            + "max |Δᵢ| (what `--compression-range` would be set to). Tensor frames only, as `UpdateEncoder` writes "
            + "them; relative error is ‖decode(encode(Δ)) − Δ‖₂ ÷ ‖Δ‖₂ of one encoding (for top-k and rand-k the "
            + "dropped coordinates count as error; error feedback sends them later)."
    )
    lines.append("")
    lines.append("| encoding | tensor bytes | ÷ f32 | relative error |")
    lines.append("|---|---:|---:|---:|")
    var tensorRatio: [String: Double] = [:]
    let f32TensorBytes = Double(mlp.delta.count * 4)
    for (text, choice) in choices {
        let measured = try encodedSize(mlp.delta, choice: choice)
        tensorRatio[text] = f32TensorBytes / Double(measured.bytes)
        lines.append(
            "| `\(text)` | \(measured.bytes) | "
                + String(
                    format: "%.2f× fewer | %.4f |",
                    f32TensorBytes / Double(measured.bytes),
                    measured.relativeError
                )
        )
    }
    lines.append("")
    let codec = try codecTimingSection(choices, parameterCount: parameterCount)
    lines += codec.lines
    let slowest = codec.slowest
    lines.append("")
    for (name, minimum, maximumLoss) in [("q8", 3.9, 0.5), ("topk:0.1,q8", 20.0, 1.0)] {
        guard let ratio = tensorRatio[name], let measured = wire[name] else { continue }
        targets.append(
            targetLine(
                "`\(name)` bytes per update at \(mlp.spec.parameterCount) parameters",
                measured: String(format: "%.2f× fewer than f32 (%.2f× on the demo's wire)", ratio, measured.bytesRatio),
                target: String(format: "≥ %.1f×", minimum),
                met: ratio >= minimum
            )
        )
        targets.append(
            targetLine(
                "`\(name)` final accuracy against f32, same seed",
                measured: String(format: "%+.2f points", measured.points),
                target: String(format: "≤ %.1f points lost", maximumLoss),
                met: measured.points >= -maximumLoss
            )
        )
    }
    targets.append(
        targetLine(
            "encode + decode of 10⁶ parameters, every encoding",
            measured: "slowest `\(slowest.0)` \(formatSeconds(slowest.1))",
            target: "< 10 ms",
            met: slowest.1 < 0.010
        )
    )
    lines += targets
    return lines.joined(separator: "\n") + "\n"
}

private func meanBytesUp(_ run: DemoRunResult) -> Double {
    let bytes = run.summary.rounds.compactMap(\.bytesUp)
    return bytes.isEmpty ? .nan : Double(bytes.reduce(0, +)) / Double(bytes.count)
}

private func logisticParameterCount() -> Int {
    (try? ModelSpec.wearable(task: .sleepQuality, architecture: .logisticRegression).parameterCount) ?? 0
}

/// A round's plan for `choice` at range R, as the coordinator would announce it (round 1).
private func plan(for choice: CompressionChoice, parameterCount: Int, range: Double) throws -> CompressionPlan? {
    guard let settings = choice.settings(range: range, seed: 0x5EED) else { return nil }
    switch CompressionPlan.make(settings, parameterCount: parameterCount, roundId: 1) {
    case .success(let plan): return plan
    case .failure(let error): throw BenchError("\(choice): \(error)")
    }
}

/// A real MLP delta of about `parameters` parameters: hidden layers of 1024 and what fills the rest.
private func mlpDelta(parameters: Int) throws -> (spec: ModelSpec, delta: [Float]) {
    let probe = try ModelSpec.wearable(task: .sleepQuality, architecture: .logisticRegression)
    let first = 1024
    let second = min(4096, max(1, (parameters - (probe.inputWidth + 1) * first - 1) / (first + 2)))
    let spec = try ModelSpec.wearable(task: .sleepQuality, architecture: .mlp(hiddenLayers: [first, second]))
    let generator = SyntheticWearables(task: .sleepQuality, seed: 7)
    let data = try generator.userData(userIndex: 0, deviceClass: .watch, spec: spec).train
    let start = spec.initialWeights(seed: 7)
    var rng = SeededGenerator(seed: 7)
    let trained = try LocalTrainer.train(
        spec: spec,
        globalWeights: start,
        data: data,
        config: TrainingConfig(learningRate: 0.05, localEpochs: 1, batchSize: 16),
        rng: &rng
    )
    return (spec, zip(trained, start).map { $0 - $1 })
}

private func encodedSize(_ delta: [Float], choice: CompressionChoice) throws -> (bytes: Int, relativeError: Double) {
    let range = Double(delta.lazy.map(\.magnitude).max() ?? 1)
    guard let plan = try plan(for: choice, parameterCount: delta.count, range: range) else {
        return (delta.count * 4, 0)
    }
    var rng = SystemRandomNumberGenerator()
    let tensors = UpdateEncoder(plan: plan).encode(delta, using: &rng).tensors
    guard case .success(let decoded) = UpdateDecoder(plan: plan).decode(tensors) else {
        throw BenchError("\(choice): the encoder's own tensors did not decode")
    }
    var error = 0.0
    var norm = 0.0
    for (sent, original) in zip(decoded, delta) {
        error += Double(sent - original) * Double(sent - original)
        norm += Double(original) * Double(original)
    }
    return (tensors.reduce(0) { $0 + $1.bytes.count }, (error / max(norm, .leastNormalMagnitude)).squareRoot())
}

private func codecTiming(_ values: [Float], choice: CompressionChoice) throws -> (encode: Double, decode: Double) {
    let range = Double(values.lazy.map(\.magnitude).max() ?? 1)
    guard let plan = try plan(for: choice, parameterCount: values.count, range: range) else {
        // f32: the edge sends the floats as they are; the shard reads them back.
        let encode = medianSeconds { _ = Tensor.f32le(name: "delta", values).bytes.count }
        let tensor = Tensor.f32le(name: "delta", values)
        return (encode, medianSeconds { _ = tensor.floats().count })
    }
    let encoder = UpdateEncoder(plan: plan)
    let decoder = UpdateDecoder(plan: plan)
    var rng = SystemRandomNumberGenerator()
    var tensors: [Tensor] = []
    let encode = medianSeconds { tensors = encoder.encode(values, using: &rng).tensors }
    var failed = false
    let decode = medianSeconds {
        if case .failure = decoder.decode(tensors) { failed = true }
    }
    if failed { throw BenchError("\(choice): the encoder's own tensors did not decode") }
    return (encode, decode)
}

/// The median wall time of `body` over 7 runs, after one warm-up run.
private func medianSeconds(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    body()
    return median((0..<7).map { _ in secondsOf(clock.measure(body)) })
}

/// N(0, 1) values by Box–Muller from a fixed seed.
private func gaussian(count: Int) -> [Float] {
    var rng = SeededGenerator(seed: 11)
    return (0..<count).map { _ in
        let u = Double.random(in: Double.leastNonzeroMagnitude..<1, using: &rng)
        let v = Double.random(in: 0..<1, using: &rng)
        return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
    }
}

/// Parses `encodings` (`f32;q8;…`) as the compression bench takes them.
func compressionChoices(_ encodings: [String]) throws -> [(String, CompressionChoice)] {
    try encodings.map { text -> (String, CompressionChoice) in
        switch CompressionChoice.parse(text) {
        case .success(let choice): return (text, choice)
        case .failure(let error): throw BenchError("\(error)")
        }
    }
}

/// The encode + decode timing table (also `fedpulse-bench codec`, which runs only this part) and
/// the slowest encoding's total per 10⁶ parameters.
func codecTimingSection(
    _ choices: [(String, CompressionChoice)],
    parameterCount: Int
) throws -> (lines: [String], slowest: (String, Double)) {
    var lines: [String] = []
    lines.append("#### Encode + decode time per 10⁶ parameters, in process (one core)")
    lines.append("")
    lines.append(
        "\(parameterCount.formatted()) values drawn from N(0, 1), R = max |xᵢ|; encode draws its rounding from "
            + "`SystemRandomNumberGenerator` as the edge does; decode is the shard's strict `UpdateDecoder`. "
            + "Median of 7 after one warm-up; scaled to 10⁶ parameters."
    )
    lines.append("")
    lines.append("| encoding | encode | decode | encode + decode | target | result |")
    lines.append("|---|---:|---:|---:|---|---|")
    let values = gaussian(count: parameterCount)
    var slowest: (String, Double) = ("", 0)
    for (text, choice) in choices {
        let timing = try codecTiming(values, choice: choice)
        let scale = 1e6 / Double(parameterCount)
        let total = (timing.encode + timing.decode) * scale
        if total > slowest.1 { slowest = (text, total) }
        lines.append(
            "| `\(text)` | \(formatSeconds(timing.encode * scale)) | \(formatSeconds(timing.decode * scale)) | "
                + "\(formatSeconds(total)) | < 10 ms | \(verdict(total < 0.010)) |"
        )
    }
    return (lines, slowest)
}
