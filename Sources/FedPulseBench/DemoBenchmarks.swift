import Foundation
import Learning

/// Issue 4: seconds per round and the hierarchy's memory over real processes, through the
/// release `fedpulse demo` exactly as a user runs it; the numbers come from its summary JSON.

/// The fields of `summary.json` the benchmarks read.
struct DemoSummary: Decodable {
    struct Round: Decodable {
        var round: Int
        var participants: Int
        var seconds: Double
    }

    var rounds: [Round]
    var processes: Int
    var peakMemoryBytes: [String: Int]
    var totalPeakMemoryBytes: Int
    var endReason: String
    var finalAccuracy: Double?
}

struct DemoRunResult {
    var command: String
    var devicesPerClass: Int
    var summary: DemoSummary
    /// `VmHWM` of the `fedpulse demo` process itself (observer + centralised baseline), sampled.
    var demoProcessPeak: Int
    var wallSeconds: Double

    var devices: Int { devicesPerClass * 3 }
    /// Rounds after the first: the first also pays for connections and the first data load.
    var steadySeconds: [Double] { summary.rounds.dropFirst().map(\.seconds) }
}

/// Runs `fedpulse demo` with the logistic model and returns its summary.
func runDemo(fedpulse: String, devicesPerClass: Int, devicesPerProcess: Int?, rounds: Int, workDirectory: String) throws -> DemoRunResult {
    let report = "\(workDirectory)/demo-\(devicesPerClass)x3"
    let summaryPath = "\(report)/bench-summary.json"
    try? FileManager.default.removeItem(atPath: report)
    try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
    var arguments = ["demo", "--rounds", "\(rounds)", "--devices-per-class", "\(devicesPerClass)"]
    if let devicesPerProcess { arguments += ["--devices-per-process", "\(devicesPerProcess)"] }
    arguments += ["--model", "logistic", "--summary-json", summaryPath, "--report-dir", report]
    let command = shellQuoted([displayPath(fedpulse)] + arguments.map(displayPath))
    note("running \(command)")

    let process = Process()
    process.executableURL = URL(fileURLWithPath: fedpulse)
    process.arguments = arguments
    let outputPath = "\(report)/demo-output.txt"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    defer { try? output.close() }
    process.standardOutput = output
    process.standardError = output
    process.standardInput = FileHandle.nullDevice
    let clock = ContinuousClock()
    let started = clock.now
    try process.run()
    var peak = 0
    let limit = started + .seconds(Int64(rounds) * 15 + 180)
    while process.isRunning {
        if let bytes = procStatusBytes(pid: process.processIdentifier, field: "VmHWM") { peak = max(peak, bytes) }
        if clock.now > limit {
            process.terminate()
            process.waitUntilExit()
            throw BenchError("\(command) did not finish within \(limit - started); output in \(outputPath)")
        }
        usleep(100_000)
    }
    process.waitUntilExit()
    let wall = secondsOf(clock.now - started)
    guard let data = FileManager.default.contents(atPath: summaryPath) else {
        throw BenchError("\(command) exited \(process.terminationStatus) without a summary; output in \(outputPath)")
    }
    let summary = try JSONDecoder().decode(DemoSummary.self, from: data)
    guard process.terminationStatus == 0 else {
        throw BenchError("\(command) exited \(process.terminationStatus) (\(summary.endReason)); output in \(outputPath)")
    }
    return DemoRunResult(command: command, devicesPerClass: devicesPerClass, summary: summary, demoProcessPeak: peak, wallSeconds: wall)
}

/// The seconds-per-round and memory tables for demos of growing size.
func demoBenchmarks(fedpulse: String, devicesPerClass: [Int], rounds: Int, workDirectory: String) throws -> String {
    var results: [DemoRunResult] = []
    for count in devicesPerClass {
        results.append(try runDemo(fedpulse: fedpulse, devicesPerClass: count, devicesPerProcess: nil, rounds: rounds, workDirectory: workDirectory))
    }
    var lines: [String] = []
    if let spec = try? ModelSpec.wearable(task: .sleepQuality, architecture: .logisticRegression) {
        let flagged = spec.features.filter(\.mayBeMissing).count
        lines.append(
            "Model: logistic regression on the sleep-quality task, \(spec.inputWidth) inputs (\(spec.features.count) features "
                + "+ \(flagged) availability flags, not ~30), \(spec.parameterCount) parameters; 2 local epochs, batch 16, "
                + "synthetic data (60 records per user on average), the demo's defaults otherwise."
        )
        lines.append("")
    }
    lines.append("Commands (one per row, run in this order):")
    lines.append("")
    for result in results { lines.append("    \(result.command)") }
    lines.append("")
    lines.append("#### Seconds per round (coordinator: `round.open` sent → new model received), logistic regression")
    lines.append("")
    lines.append("| devices | devices per class | processes | rounds | median s/round (rounds 2…) | min | max | round 1 | target | result |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for result in results {
        let steady = result.steadySeconds
        let medianSeconds = median(steady)
        let target: Double? = result.devices <= 15 ? 0.050 : (result.devices <= 60 ? 0.150 : nil)
        let targetText = target.map { "< \(Int($0 * 1000)) ms" } ?? "–"
        let outcome = target.map { verdict(medianSeconds < $0) } ?? "–"
        lines.append(
            "| \(result.devices) | \(result.devicesPerClass) | \(result.summary.processes) | \(result.summary.rounds.count) | "
                + "\(formatSeconds(medianSeconds)) | \(formatSeconds(steady.min() ?? .nan)) | \(formatSeconds(steady.max() ?? .nan)) | "
                + "\(formatSeconds(result.summary.rounds.first?.seconds ?? .nan)) | \(targetText) | \(outcome) |"
        )
    }
    lines.append("")
    lines.append("Per-round seconds: " + results.map { result in
        "\(result.devices) devices: " + result.summary.rounds.map { String(format: "%.3f", $0.seconds) }.joined(separator: ", ")
    }.joined(separator: "; ") + ".")
    lines.append("")
    lines.append("#### Peak memory of the hierarchy (sum of every child process's `VmHWM`, from the summary JSON)")
    lines.append("")
    lines.append("| devices | processes | total | coordinator | global | region-watch | region-phone | region-tablet | edges (sum) | `fedpulse demo` itself | target | result |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for result in results {
        let peaks = result.summary.peakMemoryBytes
        let edges = peaks.filter { $0.key.hasPrefix("edge-") }.values.reduce(0, +)
        let total = result.summary.totalPeakMemoryBytes
        let isFifty = result.devices > 15 && result.devices <= 60
        lines.append(
            "| \(result.devices) | \(result.summary.processes) | \(formatMB(total)) | \(formatMB(peaks["coordinator"] ?? 0)) | "
                + "\(formatMB(peaks["global"] ?? 0)) | \(formatMB(peaks["region-watch"] ?? 0)) | \(formatMB(peaks["region-phone"] ?? 0)) | "
                + "\(formatMB(peaks["region-tablet"] ?? 0)) | \(formatMB(edges)) | \(formatMB(result.demoProcessPeak)) | "
                + (isFifty ? "< 200 MB total | \(verdict(total < 200_000_000))" : "– | –") + " |"
        )
    }
    lines.append("")
    lines.append(
        "The total is the sum of each child's peak (an upper bound: the peaks need not coincide); the `fedpulse demo` "
            + "parent (which follows the broadcast and trains the centralised baseline at the end) is sampled by the bench "
            + "every 100 ms and is not part of the hierarchy's total."
    )
    return lines.joined(separator: "\n") + "\n"
}
