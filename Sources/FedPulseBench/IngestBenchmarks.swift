import Federation
import Foundation
import Wire
import ZeroMQ

/// Issue 4: a regional aggregator's ingest of 10⁶-parameter `f32le` updates against raw libzmq
/// PUSH/PULL throughput for the same messages, measured in the same run and interleaved.
///
/// Each repetition times three transfers of the same M encoded `update` messages (4 MB `delta`
/// frame plus topic and header) from one PUSH socket: to a libzmq-only PULL sink, to a sink using
/// the project's `Socket.receive`, and to a real `RegionalAggregatorRole`, timed from the first
/// send until the shard's `partial` (the sum of all M) arrives at the PULL standing in for the
/// global aggregator; odd repetitions run the sinks first, even ones the shard. Ratio = ingest
/// bandwidth ÷ raw libzmq bandwidth of the same repetition; the table gives the median over the
/// repetitions and their range (the machine is shared, so one repetition proves little).
func ingestBenchmark(
    placement: ShardPlacement,
    messages: Int,
    repeats: Int,
    parameterCount: Int,
    fedpulse: String,
    workDirectory: String
) throws -> String {
    var harness = try IngestHarness(
        placement: placement,
        parameterCount: parameterCount,
        fedpulse: fedpulse,
        workDirectory: workDirectory
    )
    defer { harness.stop() }
    try harness.warmUp()
    let batches = [1] + Array(repeating: messages, count: repeats)
    // The sinks run where the shard does: threads of this process, or processes of their own.
    let libzmq = try PullSink(
        kind: .libzmq,
        batches: batches,
        receiveHighWaterMark: IngestHarness.shardReceiveHighWaterMark,
        placement: placement
    )
    defer { libzmq.stop() }
    let wrapper = try PullSink(
        kind: .wrapper,
        batches: batches,
        receiveHighWaterMark: IngestHarness.shardReceiveHighWaterMark,
        placement: placement
    )
    defer { wrapper.stop() }
    let context = try Context()
    let toLibzmq = try pusher(context, to: libzmq.endpoint)
    let toWrapper = try pusher(context, to: wrapper.endpoint)

    var messageBytes = 0
    var rows: [(raw: Double, wrapper: Double, ingest: Double)] = []
    // CPU seconds of the whole pipeline during each timed transfer: this process's threads
    // (sender, its I/O thread, the sink or the thread-placed shard) plus the aggregator process.
    var cpus: [(raw: Double, ingest: Double)] = []
    var shardCPU = 0.0
    var shardFaults = 0.0
    var shardUpdates = 0
    for repetition in 0...repeats {
        let round = try harness.prepareRound(members: messages)
        messageBytes = round.updates[0].reduce(0) { $0 + $1.count }
        if repetition == 0 {
            // Connects both sinks (one message each), untimed.
            try toLibzmq.send(round.updates[0])
            _ = try libzmq.waitForBatch()
            try toWrapper.send(round.updates[0])
            _ = try wrapper.waitForBatch()
            continue
        }
        func timeSink(_ socket: borrowing Socket, _ sink: PullSink) throws -> (seconds: Double, cpu: Double) {
            let usageBefore = sink.processUsage
            let cpuBefore = processCPUSeconds()
            let start = ContinuousClock.now
            for frames in round.updates { try socket.send(frames) }
            let seconds = secondsOf(try sink.waitForBatch() - start)
            var cpu = processCPUSeconds() - cpuBefore
            if let before = usageBefore, let after = sink.processUsage { cpu += after.cpuSeconds - before.cpuSeconds }
            return (seconds, cpu)
        }
        func timeShard() throws -> (seconds: Double, cpu: Double) {
            let usageBefore = harness.shardProcessUsage ?? harness.shardThreadUsage
            let cpuBefore = processCPUSeconds()
            let seconds = try harness.timeRound(round)
            var cpu = processCPUSeconds() - cpuBefore
            if let before = usageBefore, let after = harness.shardProcessUsage ?? harness.shardThreadUsage {
                // A shard process's CPU is not in this process's clock; its thread's already is.
                if placement == .process { cpu += after.cpuSeconds - before.cpuSeconds }
                shardCPU += after.cpuSeconds - before.cpuSeconds
                shardFaults += after.minorFaults - before.minorFaults
                shardUpdates += messages
            }
            return (seconds, cpu)
        }
        // The order alternates, so neither side always runs first (after the other's backlog
        // of freed buffers and dirty cache) or last.
        let raw: (seconds: Double, cpu: Double)
        let copied: (seconds: Double, cpu: Double)
        let ingest: (seconds: Double, cpu: Double)
        if repetition % 2 == 1 {
            raw = try timeSink(toLibzmq, libzmq)
            copied = try timeSink(toWrapper, wrapper)
            ingest = try timeShard()
        } else {
            ingest = try timeShard()
            raw = try timeSink(toLibzmq, libzmq)
            copied = try timeSink(toWrapper, wrapper)
        }
        note(
            "ingest \(placement.rawValue) rep \(repetition): raw \(formatSeconds(raw.seconds)), wrapper \(formatSeconds(copied.seconds)), shard \(formatSeconds(ingest.seconds))"
        )
        rows.append((raw.seconds, copied.seconds, ingest.seconds))
        cpus.append((raw.cpu, ingest.cpu))
    }

    let bytes = Double(messageBytes * messages)
    func bandwidth(_ seconds: Double) -> String { String(format: "%.2f GB/s", bytes / seconds / 1e9) }
    let ratios = rows.map { $0.raw / $0.ingest }  // ingest bandwidth ÷ raw bandwidth, same bytes
    let wrapperRatios = rows.map { $0.raw / $0.wrapper }
    let ratio = median(ratios)
    var lines: [String] = []
    lines.append(
        "| shard runs as | updates per round | update message | repetitions | raw libzmq PULL | `ZeroMQ.Socket` PULL | regional aggregator | ratio ingest ÷ raw (median) | range | target ≥ 0.8 |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    let placementText = placement == .thread ? "thread (RoleRunner)" : "process (`fedpulse aggregator`)"
    lines.append(
        "| \(placementText) | \(messages) | \(messageBytes.formatted()) B | \(rows.count) | "
            + "\(bandwidth(median(rows.map(\.raw)))) | \(bandwidth(median(rows.map(\.wrapper)))) | "
            + "\(bandwidth(median(rows.map(\.ingest)))) | \(String(format: "%.2f", ratio)) | "
            + "\(String(format: "%.2f–%.2f", ratios.min() ?? .nan, ratios.max() ?? .nan)) | \(verdict(ratio >= 0.8)) |"
    )
    lines.append("")
    lines.append(
        "Per repetition (seconds for \(messages) messages; raw, `Socket.receive` copy, regional aggregator; odd "
            + "repetitions time the two sinks first, even ones the aggregator first): "
            + rows.map { String(format: "%.3f / %.3f / %.3f", $0.raw, $0.wrapper, $0.ingest) }.joined(separator: "; ")
            + String(format: ". `Socket.receive` ÷ raw alone: %.2f (median).", median(wrapperRatios))
    )
    lines.append("")
    lines.append(
        targetLine(
            "ingest ÷ raw libzmq, 10⁶-parameter updates, shard as \(placement.rawValue)",
            measured: String(format: "%.2f", ratio),
            target: "≥ 0.8",
            met: ratio >= 0.8
        )
    )
    lines.append("")
    lines.append(cpuLine(cpus, updates: messages, placement: placement))
    if shardUpdates > 0 {
        let perUpdate = shardCPU / Double(shardUpdates)
        lines.append("")
        lines.append(
            String(
                format: (placement == .process
                    ? "CPU time of the aggregator process (all its threads: role loop and libzmq I/O)"
                    : "CPU time of the shard's role thread (decode, admission, fold; not the libzmq I/O thread "
                        + "receiving for it)")
                    + " during the timed rounds: %.2f ms per update (%.2f GB/s of CPU), from utime + stime in /proc "
                    + "(10 ms ticks, over %d updates); %.0f minor page faults per update (a 4 MB buffer is 977 pages).",
                perUpdate * 1e3,
                Double(messageBytes) / perUpdate / 1e9,
                shardUpdates,
                shardFaults / Double(shardUpdates)
            )
        )
    }
    return lines.joined(separator: "\n") + "\n"
}

/// Issue 4: one regional aggregator's peak memory as its cohort grows (streaming aggregation
/// should keep it flat). Each call starts a fresh `fedpulse aggregator --tier region` process,
/// warms it with a one-update round, then sends one round of `messages` updates; the row is the
/// process's `VmHWM` after each phase.
func ingestMemoryRow(
    messages: Int,
    paceMillis: Int,
    parameterCount: Int,
    fedpulse: String,
    workDirectory: String
)
    throws -> (
        row: String, growth: Int
    )
{
    var harness = try IngestHarness(
        placement: .process,
        parameterCount: parameterCount,
        fedpulse: fedpulse,
        workDirectory: workDirectory
    )
    defer { harness.stop() }
    try harness.warmUp()
    let idle = harness.shardPeakBytes ?? 0
    let round = try harness.prepareRound(members: messages)
    let seconds = try harness.timeRound(round, pace: paceMillis > 0 ? .milliseconds(paceMillis) : nil)
    let peak = harness.shardPeakBytes ?? 0
    let model = parameterCount * 4
    let pacing = paceMillis > 0 ? "\(paceMillis) ms between updates" : "none (as fast as possible)"
    note(
        "ingest memory M=\(messages) pace \(paceMillis) ms: warm-up peak \(formatMB(idle)), after round \(formatMB(peak)), \(formatSeconds(seconds))"
    )
    let row =
        "| \(messages) | \(pacing) | \(formatMB(idle)) | \(formatMB(peak)) | \(formatMB(peak - idle)) | "
        + String(format: "%.1f", Double(peak - idle) / Double(model)) + " | \(formatSeconds(seconds)) |"
    return (row, peak - idle)
}

/// The memory table for every pacing and cohort size, with one target line per pacing: flat
/// means the growth at the largest cohort is within two model sizes of the growth at the smallest
/// cohort that fills the receive path (a peak moves in whole 4 MB buffers, so one more or fewer in
/// flight is not growth with M).
///
/// Why not the smallest cohort (the printed note says it too): since the shard keeps freed receive
/// buffers (`ReceiveBuffers`), a round too short to fill the queues runs on the warm-up's buffers,
/// and against it the backlog any longer round holds, bounded by the queues, read as growth with M.
func ingestMemoryBenchmark(
    cohorts: [Int],
    pacings: [Int],
    parameterCount: Int,
    fedpulse: String,
    workDirectory: String
)
    throws -> String
{
    var lines = [
        "| updates in the round | sender pacing | shard VmHWM after 1-update warm-up round | after the round | growth | growth ÷ model size (4 MB) | round time |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    var targets: [String] = []
    let model = parameterCount * 4
    let queues = Int(IngestHarness.shardReceiveHighWaterMark + IngestHarness.sendHighWaterMark)
    let filling = cohorts.filter { $0 >= 2 * queues }
    for pace in pacings {
        var growths: [(messages: Int, growth: Int)] = []
        for messages in cohorts {
            let measured = try ingestMemoryRow(
                messages: messages,
                paceMillis: pace,
                parameterCount: parameterCount,
                fedpulse: fedpulse,
                workDirectory: workDirectory
            )
            lines.append(measured.row)
            growths.append((messages, measured.growth))
        }
        let compared = growths.filter { filling.contains($0.messages) }
        let pacing = pace > 0 ? "\(pace) ms between updates" : "updates sent as fast as possible"
        guard let first = compared.first, let last = compared.last, compared.count > 1 else {
            targets.append(
                targetLine(
                    "one aggregator's memory flat, \(pacing)",
                    measured: "not measured",
                    target: "two cohorts of at least \(2 * queues) updates, compared",
                    met: false
                )
            )
            continue
        }
        targets.append(
            targetLine(
                "one aggregator's memory flat from \(first.messages) to \(last.messages) updates, \(pacing)",
                measured: "growth \(formatMB(first.growth)) → \(formatMB(last.growth))",
                target: "growth at \(last.messages) within two model sizes (\(formatMB(2 * model))) "
                    + "of that at \(first.messages)",
                met: last.growth - first.growth <= 2 * model  // VmHWM moves in whole buffers
            )
        )
    }
    lines.append("")
    lines.append(
        "The target compares cohorts of at least \(2 * queues) updates, twice what the queues between sender "
            + "and shard hold (\(IngestHarness.shardReceiveHighWaterMark) at the shard's PULL, "
            + "\(IngestHarness.sendHighWaterMark) at the sender's PUSH): a shorter round ends before a backlog builds and, as the shard keeps freed receive "
            + "buffers, runs on the warm-up's, so its growth (0–4 MB) is no baseline for rounds that fill the "
            + "queues. Growth with M would show between the compared cohorts; the queued buffers are bounded by "
            + "the queues whatever M is."
    )
    lines.append("")
    lines += targets
    return lines.joined(separator: "\n") + "\n"
}

/// The pipeline's CPU per update in both transfers and their ratio: on a saturated machine
/// (every core busy, as on this shared 2-core one) throughput follows CPU, so this is what the
/// wall-clock ratio tends to under load, and unlike it, it hardly moves with the load.
private func cpuLine(_ cpus: [(raw: Double, ingest: Double)], updates: Int, placement: ShardPlacement) -> String {
    let perUpdate = 1e3 / Double(max(1, updates))
    let ratios = cpus.map { $0.raw / $0.ingest }
    let total = cpus.reduce(0) { $0 + $1.raw } / cpus.reduce(0) { $0 + $1.ingest }
    let counted =
        placement == .thread
        ? "this process (sender, its I/O thread, the sink or the shard's threads)"
        : "this process (sender, its I/O thread) plus the sink's or the aggregator's process (10 ms ticks)"
    return String(
        format: "CPU of the whole pipeline per update, %@: raw libzmq %.2f ms, regional aggregator %.2f ms "
            + "(medians); CPU ratio raw ÷ aggregator %.2f over all repetitions (per repetition %.2f–%.2f). "
            + "Throughput follows CPU when every core is busy, so this is the ratio a saturated machine tends to.",
        counted,
        median(cpus.map(\.raw)) * perUpdate,
        median(cpus.map(\.ingest)) * perUpdate,
        total,
        ratios.min() ?? .nan,
        ratios.max() ?? .nan
    )
}

/// CPU seconds of every thread of this process so far.
private func processCPUSeconds() -> Double {
    var now = timespec()
    guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now) == 0 else { return 0 }
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

private func pusher(_ context: Context, to endpoint: String) throws -> Socket {
    let socket = try Socket(context, type: .push)
    try socket.setLinger(0)
    try socket.setSendHighWaterMark(IngestHarness.sendHighWaterMark)
    try socket.connect(endpoint)
    return socket
}
