import Federation
import Logging
import Metrics
import Wire

/// A regional shard's rounds: admission, streaming sum, early-update buffer and the partial.
struct ShardState {
    struct Current {
        var round: ShardRound
        var tensors: RoundTensors
        var sums: [[Float]]
        var deadline: Int64
        var weighted: Bool
        var metrics = MetricsAccumulator()
        var clipped = 0
        var bytes = 0
        var sent = false
    }

    let config: RegionalAggregatorConfig
    let logger: Logger
    let messenger: Messenger
    private(set) var current: Current?
    private var early: [Message<Update>] = []
    private var earlyBytes: [Int] = []
    private let accepted: Counter
    private let bytesIn: Counter

    init(config: RegionalAggregatorConfig, logger: Logger, messenger: Messenger) {
        self.config = config
        self.logger = logger
        self.messenger = messenger
        accepted = Counter(label: "fedpulse_updates_accepted_total", dimensions: [("role", "region"), ("region", config.region)])
        bytesIn = Counter(label: "fedpulse_bytes_in_total", dimensions: [("role", "region")])
    }

    var deadline: Int64? { current.flatMap { $0.sent ? nil : $0.deadline } }

    /// Starts a round this shard is named in; returns the global aggregator's endpoint.
    mutating func roundOpened(_ message: Message<RoundOpen>) -> String? {
        let open = message.body
        if let current, current.round.roundId >= open.roundId { return open.globalEndpoint }
        guard let assignment = open.shards.first(where: { $0.region.rawValue == config.region && $0.shard == config.shard }) else {
            return open.globalEndpoint
        }
        guard let tensors = RoundTensors(message) else { return open.globalEndpoint }
        current = Current(
            round: ShardRound(roundId: open.roundId, modelVersion: open.modelVersion, members: assignment.members, parameterCount: tensors.elementCount),
            tensors: tensors, sums: tensors.names.map { _ in [Float](repeating: 0, count: tensors.elementCount) },
            deadline: open.deadlineMillis, weighted: open.privacy.placement == .off && open.kind == .train
        )
        logger.info("round opened", metadata: ["round.id": "\(open.roundId)", "shard": "\(config.name)", "round.members": "\(assignment.members.count)"])
        let waiting = early
        let waitingBytes = earlyBytes
        early = []
        earlyBytes = []
        for (update, size) in zip(waiting, waitingBytes) where update.body.roundId >= open.roundId {
            admit(update, size: size)
        }
        return open.globalEndpoint
    }

    mutating func updateReceived(_ frames: [[UInt8]]) {
        let size = frames.reduce(0) { $0 + $1.count }
        bytesIn.increment(by: size)
        switch messenger.codec.decode(frames, as: Update.self) {
        case .failure(let error):
            messenger.reject(error.code, detail: error.detail, sender: nil, roundId: current?.round.roundId)
            current?.round.rejectedBeforeAdmission(error.code)
        case .success(let update):
            if update.body.roundId > (current?.round.roundId ?? 0) {
                guard early.count < config.earlyUpdateLimit else {
                    messenger.reject(.staleRound, detail: "early-update buffer full", sender: update.sender, roundId: update.body.roundId)
                    return
                }
                early.append(update)
                earlyBytes.append(size)
                return
            }
            admit(update, size: size)
        }
    }

    private mutating func admit(_ update: Message<Update>, size: Int) {
        let body = update.body
        // Take the round out while it is changed: a copy left in `current` would make the
        // first write to the 4 MB sums copy them (copy-on-write) on every update.
        guard var round = current.take() else {
            messenger.reject(.staleRound, detail: "no open round", sender: update.sender, roundId: body.roundId)
            return
        }
        defer { current = round }
        let expected = round.tensors.names.map(\.update)
        let found = expected.compactMap { name in update.tensors.first { $0.name == name } }
        guard found.count == expected.count else {
            round.round.rejectedBeforeAdmission(.frameCountMismatch)
            messenger.reject(.frameCountMismatch, detail: "update lacks one of \(expected)", sender: update.sender, roundId: body.roundId)
            return
        }
        let shortest = found.map(\.elementCount).min() ?? 0
        let longest = found.map(\.elementCount).max() ?? 0
        let elementCount = shortest == longest ? shortest : -1
        let verdict = round.round.admit(workerId: body.workerId, roundId: body.roundId, modelVersion: body.modelVersion, elementCount: elementCount)
        if case .reject(let reason) = verdict {
            messenger.reject(reason, detail: "update refused by shard \(config.name)", sender: body.workerId, roundId: body.roundId)
            return
        }
        let weight = round.weighted ? body.weight : 1
        do {
            for (index, tensor) in found.enumerated() { try tensor.accumulate(into: &round.sums[index], scale: Float(weight)) }
        } catch {
            round.round.rejectedBeforeAdmission(error.code)
            messenger.reject(error.code, detail: error.detail, sender: body.workerId, roundId: body.roundId)
            return
        }
        if let metrics = body.metrics { round.metrics.add(metrics) }
        if body.clipped { round.clipped += 1 }
        round.bytes += size
        accepted.increment()
        let everyoneAnswered = round.round.contributed(workerId: body.workerId, weight: weight)
        if everyoneAnswered { round.deadline = 0 }
    }

    /// The partial to send, once everyone answered or the deadline passed; `nil` otherwise.
    mutating func partialIfDue(now: Int64) -> (body: Partial, tensors: [Tensor])? {
        guard var round = current, !round.sent, now >= round.deadline else { return nil }
        round.round.close()
        round.sent = true
        current = round
        logger.info(
            "partial sent",
            metadata: [
                "round.id": "\(round.round.roundId)", "shard": "\(config.name)",
                "round.contributors": "\(round.round.contributors.count)", "round.missing": "\(round.round.missing)",
            ]
        )
        let body = Partial(
            roundId: round.round.roundId, modelVersion: round.round.modelVersion,
            region: DeviceClassName(rawValue: config.region) ?? .watch, shard: config.shard,
            contributors: round.round.contributors.count, weightSum: round.round.weightSum, members: round.round.contributors,
            metrics: round.metrics.summary, rejected: Dictionary(uniqueKeysWithValues: round.round.rejected.map { ($0.key.rawValue, $0.value) }),
            clippedCount: round.clipped, bytesUp: round.bytes
        )
        return (body, zip(round.tensors.partialNames, round.sums).map { Tensor.f32le(name: $0, $1) })
    }
}

/// Example-weighted federated evaluation, merged exactly across workers and shards.
struct MetricsAccumulator {
    var examples = 0
    var lossSum = 0.0
    var correct = 0.0

    mutating func add(_ metrics: MetricsSummary) {
        examples += metrics.examples
        lossSum += metrics.loss * Double(metrics.examples)
        correct += metrics.accuracy * Double(metrics.examples)
    }

    var summary: MetricsSummary? {
        guard examples > 0 else { return nil }
        return MetricsSummary(examples: examples, loss: lossSum / Double(examples), accuracy: correct / Double(examples))
    }
}
