import Foundation
import Runtime
import Wire
import ZeroMQ

/// Issue 13 §5: 10,000 virtual devices over 20 edge processes, 3 classes, 2 shards per class,
/// with the coordinator, global aggregator and auditor, CURVE on every socket with one edge key
/// per edge process, on this 2-core machine.
///
/// The processes are the real `fedpulse` roles, started with the flags a deployment would use;
/// the bench follows the coordinator's broadcast as an enrolled observer and samples every
/// process's open file descriptors (`/proc/PID/fd`), PSS (`smaps_rollup`) and `VmHWM`.
struct ScaleRun {
    var devices = 10_000
    var edges = 20
    var shardsPerClass = 2
    var rounds = 10
    var samplingRate = 0.1
    /// Devices check in this often; every check-in of 10,000 devices is a message to the coordinator.
    var checkinMillis = 5_000
    var roundTimeoutMillis = 60_000

    static let classes = ["watch", "phone", "tablet"]

    /// Edge `i` hosts devices of class `classes[i % 3]`; devices are spread as evenly as counts allow.
    func edgeLayout() -> [(name: String, deviceClass: String, devices: Int, firstUser: Int)] {
        var layout: [(name: String, deviceClass: String, devices: Int, firstUser: Int)] = []
        var firstUser = 0
        var perClass: [String: Int] = [:]
        for index in 0..<edges {
            let deviceClass = Self.classes[index % Self.classes.count]
            let count = devices / edges + (index < devices % edges ? 1 : 0)
            let ordinal = perClass[deviceClass, default: 0]
            perClass[deviceClass] = ordinal + 1
            layout.append(("edge-\(deviceClass)-\(ordinal)", deviceClass, count, firstUser))
            firstUser += count
        }
        return layout
    }
}

/// What was sampled of one process over the run.
private struct ProcessPeaks {
    var fds = 0
    var pss = 0
    var hwm = 0

    mutating func sample(pid: Int32) {
        if let count = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count {
            fds = max(fds, count)
        }
        pss = max(pss, proportionalSetBytes(pid: pid) ?? 0)
        hwm = max(hwm, procStatusBytes(pid: pid, field: "VmHWM") ?? 0)
    }
}

func scaleBenchmark(fedpulse: String, run: ScaleRun, workDirectory: String) throws -> String {
    let root = URL(fileURLWithPath: "\(workDirectory)/scale-\(run.devices)")
    try? FileManager.default.removeItem(at: root)
    let logs = root.appendingPathComponent("logs")
    let children = try ChildProcesses(executable: URL(fileURLWithPath: fedpulse), logDirectory: logs)
    defer { children.stopAll() }
    let ports = try FreePorts.pick(4)
    let broadcast = "tcp://127.0.0.1:\(ports[0])"
    let control = "tcp://127.0.0.1:\(ports[1])"
    let events = "tcp://127.0.0.1:\(ports[2])"
    let ledger = "tcp://127.0.0.1:\(ports[3])"
    let coordinatorFlags = ["--coordinator-broadcast", broadcast, "--coordinator-control", control]
    let learning = ["--task", "sleep-quality", "--model", "logistic", "--seed", "7", "--records-per-user", "60"]
    let layout = run.edgeLayout()

    var parties: [(name: String, role: String)] = [
        ("coordinator", "coordinator"), ("global", "global"), ("auditor", "auditor"), ("bench-observer", "observer"),
    ]
    for deviceClass in ScaleRun.classes {
        parties += (0..<run.shardsPerClass).map { ("region-\(deviceClass)-\($0)", "shard:\(deviceClass)") }
    }
    parties += layout.map { ($0.name, "edge:\($0.deviceClass)") }
    let keys = try KeyDirectory.create(at: root.appendingPathComponent("keys").path, parties: parties)
    func security(_ name: String) -> [String] {
        ["--curve-secret-key", keys.secretKeyPath(of: name), "--enrolment", keys.enrolmentPath]
    }

    let context = try Context()
    let observer = try Socket(context, type: .sub)
    try observer.setLinger(0)
    try observer.subscribe(Topic.roundSummary.rawValue)
    try observer.subscribe(Topic.runEnd.rawValue)
    let observerSecurity = try TransportSecurity.curve(
        secretKeyFile: keys.secretKeyPath(of: "bench-observer"),
        enrolmentFile: keys.enrolmentPath
    )
    try observerSecurity.secureClient(observer, of: "coordinator")
    try observer.connect(broadcast)

    var commands: [String] = []
    func launch(_ name: String, _ arguments: [String]) throws -> ChildProcesses.Child {
        commands.append("fedpulse \(shellQuoted(arguments)) $SEC \(name)")
        return try children.launch(name: name, arguments: arguments + security(name))
    }
    let ledgerFile = root.appendingPathComponent("ledger.jsonl").path
    _ = try launch(
        "auditor",
        [
            "auditor", "--events", events, "--ledger", ledger, "--ledger-file", ledgerFile, "--epsilon-budget", "1000",
            "--delta", "1e-5", "--signing-key", root.appendingPathComponent("auditor-signing.key").path,
            "--max-sampling-rate", "\(run.samplingRate)",
        ]
    )
    _ = try launch("global", ["aggregator", "--tier", "global"] + coordinatorFlags)
    for deviceClass in ScaleRun.classes {
        for shard in 0..<run.shardsPerClass {
            _ = try launch(
                "region-\(deviceClass)-\(shard)",
                ["aggregator", "--tier", "region", "--region", deviceClass, "--shard", "\(shard)"] + coordinatorFlags
            )
        }
    }
    for edge in layout {
        _ = try launch(
            edge.name,
            [
                "edge", "--device-class", edge.deviceClass, "--devices", "\(edge.devices)", "--first-user",
                "\(edge.firstUser)", "--checkin-ms", "\(run.checkinMillis)",
            ] + learning + coordinatorFlags
        )
    }
    let clock = ContinuousClock()
    let started = clock.now
    let coordinator = try launch(
        "coordinator",
        [
            "coordinator", "--broadcast", broadcast, "--control", control, "--rounds", "\(run.rounds)",
            "--wait-for-workers", "\(run.devices)", "--round-timeout-ms", "\(run.roundTimeoutMillis)",
            "--worker-timeout-ms", "\(run.checkinMillis * 4)", "--state-dir", root.appendingPathComponent("state").path,
            "--dp", "central", "--clip", "1", "--noise-multiplier", "1", "--delta", "1e-5",
            "--sampling-rate", "\(run.samplingRate)", "--auditor-events", events, "--auditor-ledger", ledger,
            "--epochs", "1", "--learning-rate", "0.1", "--batch-size", "16",
        ] + learning
    )

    var peaks: [String: ProcessPeaks] = [:]
    var lastSample = clock.now - .seconds(10)
    func sampleAll() {
        for child in children.all { peaks[child.name, default: ProcessPeaks()].sample(pid: child.pid) }
        lastSample = clock.now
    }
    var startupSeconds: Double?
    let followed = try RunFollower.follow(
        observer: observer,
        control: nil,
        children: children,
        coordinator: coordinator,
        deadline: started + .seconds(Int64(run.rounds) * Int64(run.roundTimeoutMillis / 1_000 + 10) + 300),
        onRound: { summary in
            if startupSeconds == nil { startupSeconds = secondsOf(clock.now - started) - summary.seconds }
            note(
                "scale round \(summary.round): \(summary.contributors) contributors, \(formatSeconds(summary.seconds))"
            )
            sampleAll()
        },
        onTick: { if clock.now - lastSample > .seconds(2) { sampleAll() } }
    )
    sampleAll()
    let wall = secondsOf(clock.now - started)
    children.stopAll()
    return scaleReport(
        run: run,
        layout: layout,
        commands: commands,
        summaries: followed.rounds,
        endReason: followed.endReason,
        peaks: peaks,
        startupSeconds: startupSeconds,
        wall: wall,
        logs: logs.path
    )
}

private func scaleReport(
    run: ScaleRun,
    layout: [(name: String, deviceClass: String, devices: Int, firstUser: Int)],
    commands: [String],
    summaries: [RoundSummary],
    endReason: String,
    peaks: [String: ProcessPeaks],
    startupSeconds: Double?,
    wall: Double,
    logs: String
) -> String {
    var lines = ["Processes (`$SEC NAME` = `--curve-secret-key keys/NAME.key --enrolment keys/enrolment.txt`):", ""]
    // auditor, global, the shards, the first edge; the other edges differ in class, count and first user.
    let shown = 3 + ScaleRun.classes.count * run.shardsPerClass
    lines += commands.prefix(shown).map { "    \($0)" }
    if layout.count > 1 { lines.append("    … \(layout.count - 1) more edge processes like the one above") }
    lines += commands.suffix(1).map { "    \($0)" }
    lines.append("")
    lines.append(
        "Raised from the defaults for this run: `--checkin-ms \(run.checkinMillis)` (1,000: 10,000 check-ins a second "
            + "would be the coordinator's main load), `--worker-timeout-ms \(run.checkinMillis * 4)` to match, "
            + "`--round-timeout-ms \(run.roundTimeoutMillis)`, the auditor's `--epsilon-budget 1000` (ten rounds at "
            + "z = 1, q = \(run.samplingRate)). `--max-workers` (100,000), the round.open size cut (1 MiB header) "
            + "and the cohort (Poisson, q = \(run.samplingRate) of each shard's population) needed no change."
    )
    lines.append("")
    let steady = summaries.dropFirst().map(\.seconds)
    lines.append(
        "| devices | edge processes | shards | rounds completed | contributors per round | median s/round (rounds 2…) | min | max | round 1 | start-up to round 1 open | run ended |"
    )
    lines.append("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    let contributors = summaries.map { "\($0.contributors)" }.joined(separator: "/")
    lines.append(
        "| \(run.devices) | \(layout.count) | \(ScaleRun.classes.count * run.shardsPerClass) | \(summaries.count) of \(run.rounds) | "
            + "\(contributors.isEmpty ? "–" : contributors) | \(formatSeconds(median(steady))) | "
            + "\(formatSeconds(steady.min() ?? .nan)) | \(formatSeconds(steady.max() ?? .nan)) | "
            + "\(formatSeconds(summaries.first?.seconds ?? .nan)) | \(startupSeconds.map(formatSeconds) ?? "–") | \(endReason) |"
    )
    lines.append("")
    lines.append(String(format: "Whole run %.1f s. Per process, peaks sampled every 2 s and at each round:", wall))
    lines.append("")
    lines.append("| process | devices | open fds | PSS | VmHWM |")
    lines.append("|---|---:|---:|---:|---:|")
    let devicesOf = Dictionary(uniqueKeysWithValues: layout.map { ($0.name, $0.devices) })
    let order =
        ["coordinator", "global", "auditor"] + peaks.keys.filter { $0.hasPrefix("region-") }.sorted()
        + layout.map(\.name)
    for name in order {
        guard let peak = peaks[name] else { continue }
        lines.append(
            "| \(name) | \(devicesOf[name].map(String.init) ?? "") | \(peak.fds) | \(formatMB(peak.pss)) | \(formatMB(peak.hwm)) |"
        )
    }
    let edgePeaks = layout.compactMap { peaks[$0.name] }
    let shardPeaks = peaks.filter { $0.key.hasPrefix("region-") }.map(\.value)
    lines.append("")
    lines.append(
        "Σ PSS \(formatMB(peaks.values.map(\.pss).reduce(0, +))), Σ VmHWM \(formatMB(peaks.values.map(\.hwm).reduce(0, +))) "
            + "over \(peaks.count) processes; per edge process at most \(edgePeaks.map(\.fds).max() ?? 0) fds, "
            + "\(formatMB(edgePeaks.map(\.pss).max() ?? 0)) PSS, \(formatMB(edgePeaks.map(\.hwm).max() ?? 0)) VmHWM; per shard at most "
            + "\(shardPeaks.map(\.fds).max() ?? 0) fds, \(formatMB(shardPeaks.map(\.pss).max() ?? 0)) PSS, "
            + "\(formatMB(shardPeaks.map(\.hwm).max() ?? 0)) VmHWM; coordinator \(peaks["coordinator"]?.fds ?? 0) fds."
    )
    lines.append("")
    lines.append(
        targetLine(
            "\(run.devices) devices, \(layout.count) edge processes, \(ScaleRun.classes.count * run.shardsPerClass) shards, CURVE with edge keys",
            measured: "\(summaries.count) of \(run.rounds) rounds, median \(formatSeconds(median(steady))) per round",
            target: "\(run.rounds) rounds complete",
            met: endReason == "roundLimit" && summaries.count == run.rounds
        )
    )
    if endReason != "roundLimit" { lines += ["", "Logs of the failed run: \(logs)"] }
    return lines.joined(separator: "\n") + "\n"
}
