import Foundation
import ZeroMQ

/// Issue 4: a regional aggregator's ingest of 10⁶-parameter `f32le` updates against raw libzmq
/// PUSH/PULL throughput for the same messages, measured in the same run and interleaved.
///
/// Each repetition times three transfers of the same M encoded `update` messages (4 MB `delta`
/// frame plus topic and header) from one PUSH socket: to a libzmq-only PULL sink, to a sink using
/// the project's `Socket.receive`, and to a real `RegionalAggregatorRole`, timed from the first
/// send until the shard's `partial` (the sum of all M) arrives at the PULL standing in for the
/// global aggregator. Ratio = ingest bandwidth ÷ raw libzmq bandwidth of the same repetition.
func ingestBenchmark(
    placement: ShardPlacement,
    messages: Int,
    repeats: Int,
    parameterCount: Int,
    fedpulse: String
) throws -> String {
    var harness = try IngestHarness(placement: placement, parameterCount: parameterCount, fedpulse: fedpulse)
    defer { harness.stop() }
    try harness.warmUp()
    let batches = [1] + Array(repeating: messages, count: repeats)
    let libzmq = try PullSink(kind: .libzmq, batches: batches, receiveHighWaterMark: IngestHarness.shardReceiveHighWaterMark)
    let wrapper = try PullSink(kind: .wrapper, batches: batches, receiveHighWaterMark: IngestHarness.shardReceiveHighWaterMark)
    let context = try Context()
    let toLibzmq = try pusher(context, to: libzmq.endpoint)
    let toWrapper = try pusher(context, to: wrapper.endpoint)

    var messageBytes = 0
    var rows: [(raw: Double, wrapper: Double, ingest: Double)] = []
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
        var start = ContinuousClock.now
        for frames in round.updates { try toLibzmq.send(frames) }
        let raw = secondsOf(try libzmq.waitForBatch() - start)
        start = ContinuousClock.now
        for frames in round.updates { try toWrapper.send(frames) }
        let copied = secondsOf(try wrapper.waitForBatch() - start)
        let ingest = try harness.timeRound(round)
        note("ingest \(placement.rawValue) rep \(repetition): raw \(formatSeconds(raw)), wrapper \(formatSeconds(copied)), shard \(formatSeconds(ingest))")
        rows.append((raw, copied, ingest))
    }

    let bytes = Double(messageBytes * messages)
    func bandwidth(_ seconds: Double) -> String { String(format: "%.2f GB/s", bytes / seconds / 1e9) }
    let ratios = rows.map { $0.raw / $0.ingest }  // ingest bandwidth ÷ raw bandwidth, same bytes
    let wrapperRatios = rows.map { $0.raw / $0.wrapper }
    let ratio = median(ratios)
    var lines: [String] = []
    lines.append("| shard runs as | updates per round | update message | repetitions | raw libzmq PULL | `ZeroMQ.Socket` PULL | regional aggregator | ratio ingest ÷ raw (median) | range | target ≥ 0.8 |")
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
        "Per repetition (seconds for \(messages) messages; raw, `Socket.receive` copy, regional aggregator): "
            + rows.map { String(format: "%.3f / %.3f / %.3f", $0.raw, $0.wrapper, $0.ingest) }.joined(separator: "; ")
            + String(format: ". `Socket.receive` ÷ raw alone: %.2f (median).", median(wrapperRatios))
    )
    return lines.joined(separator: "\n") + "\n"
}

/// Issue 4: one regional aggregator's peak memory as its cohort grows (streaming aggregation
/// should keep it flat). Each call starts a fresh `fedpulse aggregator --tier region` process,
/// warms it with a one-update round, then sends one round of `messages` updates; the row is the
/// process's `VmHWM` after each phase.
func ingestMemoryRow(messages: Int, parameterCount: Int, fedpulse: String) throws -> String {
    var harness = try IngestHarness(placement: .process, parameterCount: parameterCount, fedpulse: fedpulse)
    defer { harness.stop() }
    try harness.warmUp()
    let idle = harness.shardPeakBytes ?? 0
    let round = try harness.prepareRound(members: messages)
    let seconds = try harness.timeRound(round)
    let peak = harness.shardPeakBytes ?? 0
    let model = parameterCount * 4
    note("ingest memory M=\(messages): warm-up peak \(formatMB(idle)), after round \(formatMB(peak)), \(formatSeconds(seconds))")
    return "| \(messages) | \(formatMB(idle)) | \(formatMB(peak)) | \(formatMB(peak - idle)) | "
        + String(format: "%.1f", Double(peak - idle) / Double(model)) + " | \(formatSeconds(seconds)) |"
}

private func pusher(_ context: Context, to endpoint: String) throws -> Socket {
    let socket = try Socket(context, type: .push)
    try socket.setLinger(0)
    try socket.setSendHighWaterMark(IngestHarness.sendHighWaterMark)
    try socket.connect(endpoint)
    return socket
}
