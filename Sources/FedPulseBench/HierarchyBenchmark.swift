import Foundation
import Runtime
import Wire
import ZeroMQ

/// Issue 4: 500 virtual devices in exactly five edge processes of 100 devices each.
///
/// `fedpulse demo` lays devices out per class (watch, phone, tablet), so its edge-process count
/// is always a multiple of three. This bench starts the same `fedpulse` roles itself, with the
/// same flags the demo passes, but with the edge layout given here; it follows the coordinator's
/// broadcast for `round.summary` as the demo does and samples every child's `VmHWM`.
func hierarchyBenchmark(
    fedpulse: String, layout: [(deviceClass: String, devices: Int)], rounds: Int, workDirectory: String
) throws -> String {
    let logs = URL(fileURLWithPath: "\(workDirectory)/hierarchy-\(layout.count)-edges/logs")
    try? FileManager.default.removeItem(at: logs)
    let children = try ChildProcesses(executable: URL(fileURLWithPath: fedpulse), logDirectory: logs)
    defer { children.stopAll() }
    let ports = try FreePorts.pick(2)
    let broadcast = "tcp://127.0.0.1:\(ports[0])"
    let control = "tcp://127.0.0.1:\(ports[1])"
    let coordinatorFlags = ["--coordinator-broadcast", broadcast, "--coordinator-control", control]
    let learning = ["--task", "sleep-quality", "--model", "logistic", "--seed", "7", "--records-per-user", "60"]
    let deviceCount = layout.reduce(0) { $0 + $1.devices }

    let context = try Context()
    let observer = try Socket(context, type: .sub)
    try observer.setLinger(0)
    try observer.subscribe(Topic.roundSummary.rawValue)
    try observer.subscribe(Topic.runEnd.rawValue)
    try observer.connect(broadcast)

    var commands: [[String]] = []
    func launch(_ name: String, _ arguments: [String]) throws {
        commands.append(arguments)
        try children.launch(name: name, arguments: arguments)
    }
    try launch("global", ["aggregator", "--tier", "global"] + coordinatorFlags)
    for deviceClass in Set(layout.map(\.deviceClass)).sorted() {
        try launch(
            "region-\(deviceClass)", ["aggregator", "--tier", "region", "--region", deviceClass] + coordinatorFlags)
    }
    var firstUser = 0
    for (index, edge) in layout.enumerated() {
        try launch(
            "edge-\(index)",
            [
                "edge", "--device-class", edge.deviceClass, "--devices", "\(edge.devices)", "--first-user",
                "\(firstUser)",
            ] + learning + coordinatorFlags
        )
        firstUser += edge.devices
    }
    let clock = ContinuousClock()
    let started = clock.now
    let coordinator = try children.launch(
        name: "coordinator",
        arguments: [
            "coordinator", "--broadcast", broadcast, "--control", control, "--rounds", "\(rounds)",
            "--wait-for-workers", "\(deviceCount)", "--round-timeout-ms", "5000",
            "--epochs", "2", "--learning-rate", "0.1", "--batch-size", "16",
        ] + learning
    )
    commands.append(
        [
            "coordinator", "--broadcast", broadcast, "--control", control, "--rounds", "\(rounds)",
            "--wait-for-workers", "\(deviceCount)", "--round-timeout-ms", "5000", "--epochs", "2", "--learning-rate",
            "0.1", "--batch-size", "16",
        ] + learning)

    var firstRoundAt: Double?
    var footprint = FootprintSampler()
    let followed = try RunFollower.follow(
        observer: observer, control: nil, children: children, coordinator: coordinator,
        deadline: started + .seconds(Int64(rounds) * 20 + 120),
        onRound: { summary in
            if firstRoundAt == nil { firstRoundAt = secondsOf(clock.now - started) - summary.seconds }
            note("hierarchy round \(summary.round): \(summary.contributors) contributors, \(formatSeconds(summary.seconds))")
        },
        onTick: { footprint.sample(children.all.map(\.pid)) }
    )
    let summaries = followed.rounds
    let peaks = followed.peakMemoryBytes
    let endReason = followed.endReason
    let wall = secondsOf(clock.now - started)
    children.stopAll()

    let steady = summaries.dropFirst().map(\.seconds)
    let edgePeaks = peaks.filter { $0.key.hasPrefix("edge-") }
    var lines: [String] = []
    lines.append("Processes started by the bench (endpoints are free loopback ports picked per run):")
    lines.append("")
    for arguments in commands { lines.append("    fedpulse \(shellQuoted(arguments))") }
    lines.append("")
    lines.append(
        "| devices | edge processes | layout | rounds completed | contributors per round | median s/round (rounds 2…) | min | max | round 1 | start-up to round 1 open | run ended |"
    )
    lines.append("|---:|---:|---|---:|---|---:|---:|---:|---:|---:|---|")
    let layoutText = layout.map { "\($0.deviceClass) \($0.devices)" }.joined(separator: ", ")
    let contributors = Set(summaries.map(\.contributors)).sorted().map(String.init).joined(separator: "/")
    lines.append(
        "| \(deviceCount) | \(layout.count) | \(layoutText) | \(summaries.count) of \(rounds) | \(contributors.isEmpty ? "–" : contributors) | "
            + "\(formatSeconds(median(steady))) | \(formatSeconds(steady.min() ?? .nan)) | \(formatSeconds(steady.max() ?? .nan)) | "
            + "\(formatSeconds(summaries.first?.seconds ?? .nan)) | \(firstRoundAt.map(formatSeconds) ?? "–") | \(endReason) |"
    )
    lines.append("")
    lines.append(
        "Per-round seconds: " + summaries.map { String(format: "%.3f", $0.seconds) }.joined(separator: ", ")
            + String(format: "; whole run %.1f s.", wall))
    lines.append("")
    lines.append(
        "Peak memory: Σ VmHWM \(formatMB(peaks.values.reduce(0, +))) over \(peaks.count) processes; sampled (at least "
            + "every 250 ms) peaks of Σ PSS \(formatMB(footprint.peakSum)) and Σ RssAnon \(formatMB(footprint.peakAnonymousSum)); VmHWM of "
            + "the coordinator \(formatMB(peaks["coordinator"] ?? 0)), global \(formatMB(peaks["global"] ?? 0)), "
            + peaks.filter { $0.key.hasPrefix("region-") }.sorted { $0.key < $1.key }.map {
                "\($0.key) \(formatMB($0.value))"
            }.joined(separator: ", ")
            + ", edges " + edgePeaks.sorted { $0.key < $1.key }.map { formatMB($0.value) }.joined(separator: " / ")
            + "."
    )
    let everyone = !summaries.isEmpty && summaries.allSatisfy { $0.contributors == deviceCount }
    lines.append("")
    lines.append(
        targetLine(
            "\(deviceCount) devices in \(layout.count) edge processes: rounds complete",
            measured: "\(summaries.count) of \(rounds) rounds, "
                + (everyone ? "all \(deviceCount) devices contributing to each" : "contributors \(contributors)")
                + ", median \(formatSeconds(median(steady))) per round",
            target: "every round completes", met: endReason == "roundLimit" && summaries.count == rounds
        )
    )
    guard endReason == "roundLimit", summaries.count == rounds else {
        throw BenchError(
            "the 500-device run ended with \(endReason) after \(summaries.count) of \(rounds) rounds; logs in \(logs.path)\n\(lines.joined(separator: "\n"))"
        )
    }
    return lines.joined(separator: "\n") + "\n"
}
