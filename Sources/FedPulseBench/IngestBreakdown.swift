import Federation
import Foundation
import Wire

/// Where a shard's CPU goes per update, without the network: the steps `RegionalAggregatorRole`
/// takes for one 10⁶-parameter update, each timed alone on one core (median of 15), for the fold
/// before issue 13 §5's in-place add and the one now, in the same run.
///
/// Before: one pass read the frame and the running sum and wrote the new sum into a scratch
/// buffer, swapped in on success (20 MB of memory traffic: the write allocates its lines first).
/// Now: a read-only pass over the frame (every element within the limit that, with the bound the
/// sum carries from the previous add, proves no element can overflow; NaN and ∞ fail it), then
/// the add in place (16 MB, and no second 4 MB buffer). Each is timed with the buffers in cache and
/// with the frame taken in turn from 12 distinct 4 MB frames (48 MB, more than the L3), which is
/// what a shard receiving a stream of updates sees. Under DP the shard also recomputes each
/// update's norm: before, in a (scalar) pass of its own; now, summed in the read-only pass.
func shardCostBreakdown(parameterCount: Int) throws -> String {
    let codec = WireCodec()
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
    let frameCount = 12
    let frames = try (0..<frameCount).map { index in
        let delta = Tensor.f32le(
            name: "delta",
            (0..<parameterCount).map { Float(($0 &+ index) % 1_000) * 1e-6 }
        )
        return try codec.encode(update, sender: "worker-0", sentAtMillis: 0, tensors: [delta])
    }
    let bytes = frames[0].reduce(0) { $0 + $1.count }
    // libzmq's buffers: the tensor frame is read where it was received.
    let owners = frames.map { NSData(bytes: $0[2], length: $0[2].count) }
    let borrowed: [WireFrame] = [
        .bytes(frames[0][0]), .bytes(frames[0][1]),
        .borrowed(BorrowedFrame(base: owners[0].bytes, count: owners[0].length, owner: owners[0])),
    ]
    func raw(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: owners[index].bytes, count: owners[index].length)
    }
    let strategy = FedAvg(weighting: .byReportedWeight)
    var sum = strategy.makeAccumulator(parameterCount: parameterCount)
    var scratch = FoldScratch()
    var oldSum = [Float](repeating: 0, count: parameterCount)
    var oldScratch = [Float](repeating: 0, count: parameterCount)
    var sink = 0

    /// Median of 15 runs of `body(frame)`; `rotating` hands each run the next of the 12 frames.
    func time(rotating: Bool, _ body: (Int) throws -> Void) rethrows -> Double {
        try body(0)
        var samples: [Double] = []
        for run in 0..<15 {
            let frame = rotating ? (run + 1) % frameCount : 0
            let start = ContinuousClock.now
            try body(frame)
            samples.append(secondsOf(ContinuousClock.now - start))
        }
        return median(samples)
    }
    let decode = try time(rotating: false) { _ in
        guard case .success(let message) = codec.decode(borrowed, as: Update.self, scanningFloats: false) else {
            throw BenchError("decode failed")
        }
        sink &+= message.tensors.count
    }
    func before(_ frame: Int) {
        let ok = stagedBesideTheSum(raw(frame), scale: 1, sum: oldSum, into: &oldScratch)
        if ok { swap(&oldSum, &oldScratch) }
    }
    func after(_ frame: Int) {
        let bytes = raw(frame)
        if strategy.stage(littleEndianBytes: bytes, weight: 1, onto: sum, scratch: &scratch) == nil {
            strategy.commit(littleEndianBytes: bytes, weight: 1, into: &sum, scratch: &scratch)
        }
    }
    // Under DP: the norm the shard recomputes, in a pass of its own before (as `DPFixedClipping`
    // measured it until the bound-check pass summed the squares too), or from that pass now.
    let dp = DPFixedClipping(
        FedAvg(weighting: .uniform),
        clipNorm: 1e6,
        denominator: 50,
        parameterCount: parameterCount
    )
    var privateSum = dp.makeAccumulator(parameterCount: parameterCount)
    var privateScratch = FoldScratch()
    func privateBefore(_ frame: Int) {
        let bytes = raw(frame)
        guard DPFixedClipping<FedAvg>.l2Norm(littleEndianBytes: bytes) <= dp.normBound,
            dp.inner.stage(littleEndianBytes: bytes, weight: 1, onto: privateSum, scratch: &privateScratch) == nil
        else { return }
        dp.commit(littleEndianBytes: bytes, weight: 1, into: &privateSum, scratch: &privateScratch)
    }
    func privateNow(_ frame: Int) {
        let bytes = raw(frame)
        if dp.stage(littleEndianBytes: bytes, weight: 1, onto: privateSum, scratch: &privateScratch) == nil {
            dp.commit(littleEndianBytes: bytes, weight: 1, into: &privateSum, scratch: &privateScratch)
        }
    }
    let beforeInCache = time(rotating: false, before)
    let afterInCache = time(rotating: false, after)
    let privateBeforeInCache = time(rotating: false, privateBefore)
    let privateNowInCache = time(rotating: false, privateNow)
    let beforeStreamed = time(rotating: true, before)
    let afterStreamed = time(rotating: true, after)
    let privateBeforeStreamed = time(rotating: true, privateBefore)
    let privateNowStreamed = time(rotating: true, privateNow)
    let tiny = try codec.encode(update, sender: "worker-0", sentAtMillis: 0, tensors: [.f32le(name: "delta", [0])])
    let headerDecode = try time(rotating: false) { _ in
        guard case .success(let message) = codec.decode(tiny, as: Update.self) else {
            throw BenchError("decode failed")
        }
        sink &+= message.tensors.count
    }
    precondition(sink != Int.min && sum.count > 0 && !oldSum.isEmpty && privateSum.count > 0)
    func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1e3) }
    return [
        "Where the shard's CPU goes per update, in this run (no network, one core, median of 15; "
            + "\(bytes.formatted()) B per update). \"Streamed\" takes each run's frame from 12 distinct ones (48 MB, "
            + "more than the 32 MB L3), as a shard receiving a stream of updates does; the running sum stays put:",
        "",
        "| step | in cache | streamed |",
        "|---|---:|---:|",
        "| `WireCodec.decode` in place (header JSON; the floats are left to the fold) | \(ms(decode)) | — |",
        "| fold before (one pass: check + add into a second 4 MB buffer, swapped in) | \(ms(beforeInCache)) | \(ms(beforeStreamed)) |",
        "| fold now (read-only pass: every element within the proven limit; then add in place) | \(ms(afterInCache)) | \(ms(afterStreamed)) |",
        "| under DP, before: the norm's own pass, then the fold now | \(ms(privateBeforeInCache)) | \(ms(privateBeforeStreamed)) |",
        "| under DP, now: Σaᵢ² summed in the fold's read-only pass, then add in place | \(ms(privateNowInCache)) | \(ms(privateNowStreamed)) |",
        "",
        String(
            format: "Fold now ÷ before: %.2f in cache, %.2f streamed; under DP now ÷ before: %.2f in cache, "
                + "%.2f streamed.",
            afterInCache / beforeInCache,
            afterStreamed / beforeStreamed,
            privateNowInCache / privateBeforeInCache,
            privateNowStreamed / privateBeforeStreamed
        )
            + " The header alone (an update whose tensor has one element) takes \(ms(headerDecode)) to decode.",
    ].joined(separator: "\n") + "\n"
}

/// The fold the shard ran before the in-place add (kept here to time it in the same run):
/// scratch[i] = sum[i] + scale · frame[i] for every i, and whether every result is finite.
private func stagedBesideTheSum(
    _ bytes: UnsafeRawBufferPointer,
    scale: Float,
    sum: [Float],
    into scratch: inout [Float]
) -> Bool {
    let n = min(bytes.count / 4, sum.count, scratch.count)
    guard n > 0, let source = bytes.baseAddress else { return true }
    let vectors = n / 8
    let stride = MemoryLayout<SIMD8<Float>>.stride
    let factor = SIMD8<Float>(repeating: scale)
    return sum.withUnsafeBytes { current in
        scratch.withUnsafeMutableBytes { target in
            guard let current = current.baseAddress, let target = target.baseAddress else { return true }
            var probe = SIMD8<Float>(repeating: 0)
            for v in 0..<vectors {
                let offset = v &* stride
                let next =
                    current.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                    + source.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self) * factor
                probe += next - next
                target.storeBytes(of: next, toByteOffset: offset, as: SIMD8<Float>.self)
            }
            var tail: Float = 0
            for i in (vectors &* 8)..<n {
                let next =
                    current.load(fromByteOffset: i &* 4, as: Float.self) + scale
                    * source.loadUnaligned(fromByteOffset: i &* 4, as: Float.self)
                tail += next - next
                target.storeBytes(of: next, toByteOffset: i &* 4, as: Float.self)
            }
            return probe == SIMD8<Float>(repeating: 0) && tail == 0
        }
    }
}
