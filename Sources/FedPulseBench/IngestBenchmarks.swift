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
/// global aggregator. Ratio = ingest bandwidth ÷ raw libzmq bandwidth of the same repetition.
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
    let libzmq = try PullSink(
        kind: .libzmq,
        batches: batches,
        receiveHighWaterMark: IngestHarness.shardReceiveHighWaterMark
    )
    let wrapper = try PullSink(
        kind: .wrapper,
        batches: batches,
        receiveHighWaterMark: IngestHarness.shardReceiveHighWaterMark
    )
    let context = try Context()
    let toLibzmq = try pusher(context, to: libzmq.endpoint)
    let toWrapper = try pusher(context, to: wrapper.endpoint)

    var messageBytes = 0
    var rows: [(raw: Double, wrapper: Double, ingest: Double)] = []
    var shardCPU = 0.0
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
        var start = ContinuousClock.now
        for frames in round.updates { try toLibzmq.send(frames) }
        let raw = secondsOf(try libzmq.waitForBatch() - start)
        start = ContinuousClock.now
        for frames in round.updates { try toWrapper.send(frames) }
        let copied = secondsOf(try wrapper.waitForBatch() - start)
        let cpuBefore = harness.shardProcessCPUSeconds
        let ingest = try harness.timeRound(round)
        if let before = cpuBefore, let after = harness.shardProcessCPUSeconds {
            shardCPU += after - before
            shardUpdates += messages
        }
        note(
            "ingest \(placement.rawValue) rep \(repetition): raw \(formatSeconds(raw)), wrapper \(formatSeconds(copied)), shard \(formatSeconds(ingest))"
        )
        rows.append((raw, copied, ingest))
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
        "Per repetition (seconds for \(messages) messages; raw, `Socket.receive` copy, regional aggregator): "
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
    if shardUpdates > 0 {
        let perUpdate = shardCPU / Double(shardUpdates)
        lines.append("")
        lines.append(
            String(
                format:
                    "CPU time of the aggregator process (all its threads: role loop and libzmq I/O) during the timed "
                    + "rounds: %.2f ms per update (%.2f GB/s of CPU), from utime + stime in /proc (10 ms ticks, over %d updates).",
                perUpdate * 1e3,
                Double(messageBytes) / perUpdate / 1e9,
                shardUpdates
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
/// (a peak moves in whole 4 MB buffers, so one more or fewer in flight is not growth with M).
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
    for pace in pacings {
        var growths: [Int] = []
        for messages in cohorts {
            let measured = try ingestMemoryRow(
                messages: messages,
                paceMillis: pace,
                parameterCount: parameterCount,
                fedpulse: fedpulse,
                workDirectory: workDirectory
            )
            lines.append(measured.row)
            growths.append(measured.growth)
        }
        if let first = growths.first, let last = growths.last, let smallest = cohorts.first, let largest = cohorts.last
        {
            let flat = last - first <= 2 * model  // VmHWM moves in whole buffers: allow one in flight either side
            let pacing = pace > 0 ? "\(pace) ms between updates" : "updates sent as fast as possible"
            targets.append(
                targetLine(
                    "one aggregator's memory flat from \(smallest) to \(largest) updates, \(pacing)",
                    measured: "growth \(formatMB(first)) → \(formatMB(last))",
                    target: "growth at \(largest) within two model sizes (\(formatMB(2 * model))) "
                        + "of that at \(smallest)",
                    met: flat
                )
            )
        }
    }
    lines.append("")
    lines += targets
    return lines.joined(separator: "\n") + "\n"
}

private func pusher(_ context: Context, to endpoint: String) throws -> Socket {
    let socket = try Socket(context, type: .push)
    try socket.setLinger(0)
    try socket.setSendHighWaterMark(IngestHarness.sendHighWaterMark)
    try socket.connect(endpoint)
    return socket
}

/// Where a shard's CPU goes per update, without the network: the steps `RegionalAggregatorRole`
/// takes for one 10⁶-parameter update, each timed alone on one core (median of 15), for the path
/// before issue 13 §5 and the one now, in the same run.
///
/// Before: `Socket.receive` copied each frame into `[UInt8]`, `WireCodec.decode` scanned the
/// tensor for NaN one element at a time, then the shard checked the sum (`refusal`: one pass)
/// and added (`accumulate`: another). Now: the frame stays in libzmq's buffer (borrowed), the
/// codec leaves its floats to the shard, and the NaN check, the overflow check and the
/// addition are one pass (`stage` into a scratch sum, then `commit` swaps it in). The codec's
/// own scan, for every other receiver, is eight lanes wide.
func shardCostBreakdown(parameterCount: Int) throws -> String {
    let codec = WireCodec()
    let delta = Tensor.f32le(name: "delta", (0..<parameterCount).map { Float($0 % 1_000) * 1e-6 })
    let update = Update(
        roundId: 1,
        modelVersion: 1,
        workerId: "worker-0",
        deviceClass: .watch,
        shard: 0,
        weight: 1,
        norm: 1,
        clipped: false
    )
    let frames = try codec.encode(update, sender: "worker-0", sentAtMillis: 0, tensors: [delta])
    let bytes = frames.reduce(0) { $0 + $1.count }
    let owner = NSData(bytes: frames[2], length: frames[2].count)
    let borrowed: [WireFrame] = [
        .bytes(frames[0]), .bytes(frames[1]),
        .borrowed(BorrowedFrame(base: owner.bytes, count: owner.length, owner: owner)),
    ]
    let strategy = FedAvg(weighting: .byReportedWeight)
    var sum = strategy.makeAccumulator(parameterCount: parameterCount)
    var scratch: [Float] = []
    var sink = 0

    func time(_ body: () throws -> Void) rethrows -> Double {
        try body()
        var samples: [Double] = []
        for _ in 0..<15 {
            let start = ContinuousClock.now
            try body()
            samples.append(secondsOf(ContinuousClock.now - start))
        }
        return median(samples)
    }

    let copyOut = time {
        let copied = frames[2].withUnsafeBytes { [UInt8]($0) }
        sink &+= Int(copied[copied.count / 2])
    }
    let decodeCopy = try time {
        guard case .success(let message) = codec.decode(frames, as: Update.self) else {
            throw BenchError("decode failed")
        }
        sink &+= message.tensors.count
    }
    let decodeInPlace = try time {
        guard case .success(let message) = codec.decode(borrowed, as: Update.self, scanningFloats: false) else {
            throw BenchError("decode failed")
        }
        sink &+= message.tensors.count
    }
    let scalarScan = time { sink &+= frames[2].withUnsafeBytes { scalarFirstNonFinite($0) } ?? 1 }
    let check = time {
        sink &+= frames[2].withUnsafeBytes { strategy.refusal(ofLittleEndian: $0, weight: 1, in: sum) } == nil ? 1 : 0
    }
    let accumulate = time {
        frames[2].withUnsafeBytes { strategy.accumulate(littleEndianBytes: $0, weight: 1, into: &sum) }
    }
    let fused = time {
        do {
            let raw = UnsafeRawBufferPointer(start: owner.bytes, count: owner.length)
            if strategy.stage(littleEndianBytes: raw, weight: 1, onto: sum, scratch: &scratch) == nil {
                strategy.commit(littleEndianBytes: raw, weight: 1, into: &sum, scratch: &scratch)
            }
        }
    }
    let tiny = try codec.encode(update, sender: "worker-0", sentAtMillis: 0, tensors: [.f32le(name: "delta", [0])])
    let headerDecode = try time {
        guard case .success(let message) = codec.decode(tiny, as: Update.self) else {
            throw BenchError("decode failed")
        }
        sink &+= message.tensors.count
    }
    let headerEncode = try time {
        sink &+= try codec.encode(update, sender: "worker-0", sentAtMillis: 0, tensors: [.f32le(name: "delta", [0])])
            .count
    }
    precondition(sink != Int.min)
    // The decode now includes the vectorised scan; the old one scanned element by element.
    let vectorScan = time { sink &+= frames[2].withUnsafeBytes { probeNonFinite($0) } ? 1 : 0 }
    let decodeBefore = decodeCopy - vectorScan + scalarScan
    let before = copyOut + decodeBefore + check + accumulate
    let after = decodeInPlace + fused
    func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1e3) }
    return [
        "Where the shard's CPU goes per update, before and after this change, in this run (no network, one core, "
            + "median of 15; \(bytes.formatted()) B per update; the buffers stay in cache here, so a real ingest, "
            + "which reads them from memory, costs more per step):",
        "",
        "| step | before | after |",
        "|---|---:|---:|",
        "| receive: copy of the frame out of the zmq message | \(ms(copyOut)) | 0 (borrowed) |",
        "| `WireCodec.decode` (header JSON + non-finite scan) | \(ms(decodeBefore)) (scalar scan) | \(ms(decodeInPlace)) (in place; the floats are checked in the shard's one pass) |",
        "| shard: check that the frame and the sum stay finite | \(ms(check)) | \(ms(fused)) (one pass: check + add into scratch, swap) |",
        "| shard: add into the sum | \(ms(accumulate)) | (in the pass above) |",
        "| **total** | \(ms(before)) | \(ms(after)) |",
        "",
        String(format: "After ÷ before: %.2f.", after / before)
            + " Of what is left, the header alone (an update whose tensor has one element) takes "
            + "\(ms(headerDecode)) (JSON parse, `JSONDecoder`, and the unknown-key check, which re-encodes the "
            + "envelope; encoding one takes \(ms(headerEncode))).",
    ].joined(separator: "\n") + "\n"
}

/// The non-finite scan the codec ran before this change, element by element, for the breakdown.
private func scalarFirstNonFinite(_ raw: UnsafeRawBufferPointer) -> Int? {
    for element in 0..<(raw.count / 4) {
        let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: element &* 4, as: UInt32.self))
        if bits & 0x7F80_0000 == 0x7F80_0000 { return element }
    }
    return nil
}

/// The codec's 8-lane scan, timed alone (it is inside `decode`), so the decode of before can
/// be shown with the scalar scan it had.
private func probeNonFinite(_ raw: UnsafeRawBufferPointer) -> Bool {
    let exponent = SIMD8<UInt32>(repeating: 0x7F80_0000)
    let carry = SIMD8<UInt32>(repeating: 0x0080_0000)
    var signs = SIMD8<UInt32>(repeating: 0)
    for index in 0..<(raw.count / 32) {
        signs |= (raw.loadUnaligned(fromByteOffset: index &* 32, as: SIMD8<UInt32>.self) & exponent) &+ carry
    }
    return (signs & SIMD8<UInt32>(repeating: 0x8000_0000)) != SIMD8<UInt32>(repeating: 0)
}
