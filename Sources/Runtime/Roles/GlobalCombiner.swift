import Federation
import Learning
import Logging
import Metrics
import Privacy
import Wire

/// The global aggregator's rounds: sums of partials, the DP-FedAvg denominator, central noise
/// and the server optimizer step. The optimizer's state (momentum, second moments) lives here
/// across rounds.
struct GlobalCombiner {
    struct Current {
        var round: GlobalRound
        var open: RoundOpen
        var weights: [Float]
        var tensors: RoundTensors
        var sums: [[Float]]
        var deadline: Int64
        var weightSum = 0.0
        var contributors = 0
        var participants: [String: Int] = [:]
        var metrics = MetricsAccumulator()
        var rejected: [String: Int] = [:]
        var clipped = 0
        var bytesUp = 0
        var sent = false
    }

    let config: GlobalAggregatorConfig
    let logger: Logger
    let messenger: Messenger
    private var optimizer: any ServerOptimizer
    private(set) var current: Current?
    /// Partials that overtook their round's announcement (the shards heard it first); bounded.
    private var early: [Message<Partial>] = []
    private let earlyLimit = 256

    init(config: GlobalAggregatorConfig, logger: Logger, messenger: Messenger) throws {
        self.config = config
        self.logger = logger
        self.messenger = messenger
        optimizer = try ServerOptimizers.make(named: config.serverOptimizer, learningRate: config.serverLearningRate)
    }

    var deadline: Int64? { current.flatMap { $0.sent ? nil : $0.deadline } }

    mutating func roundOpened(_ message: Message<RoundOpen>) {
        let open = message.body
        if let current, current.round.roundId >= open.roundId { return }
        guard let weights = message.tensor(named: "weights"), let tensors = RoundTensors(message) else { return }
        let names = open.shards.map { "\($0.region.rawValue)/\($0.shard)" }
        current = Current(
            round: GlobalRound(roundId: open.roundId, modelVersion: open.modelVersion, expectedShards: names),
            open: open, weights: weights.floats(), tensors: tensors,
            sums: tensors.names.map { _ in [Float](repeating: 0, count: tensors.elementCount) },
            deadline: open.deadlineMillis + config.graceMillis
        )
        let waiting = early
        early = []
        for partial in waiting where partial.body.roundId >= open.roundId { partialReceived(partial) }
    }

    mutating func partialReceived(_ message: Message<Partial>) {
        let partial = message.body
        if partial.roundId > (current?.round.roundId ?? 0) {
            guard early.count < earlyLimit else {
                messenger.reject(.staleRound, detail: "early-partial buffer full", sender: message.sender, roundId: partial.roundId)
                return
            }
            early.append(message)
            return
        }
        guard var round = current.take() else {
            messenger.reject(.staleRound, detail: "partial with no round open", sender: message.sender, roundId: partial.roundId)
            return
        }
        defer { current = round }
        let name = "\(partial.region.rawValue)/\(partial.shard)"
        let admission = round.round.partialReceived(shard: name, roundId: partial.roundId, modelVersion: partial.modelVersion)
        guard case .accept(let complete) = admission else {
            if case .reject(let reason) = admission {
                messenger.reject(reason, detail: "partial from \(name) refused", sender: message.sender, roundId: partial.roundId)
            }
            return
        }
        let found = round.tensors.partialNames.compactMap { message.tensor(named: $0) }
        guard found.count == round.tensors.names.count else {
            messenger.reject(.frameCountMismatch, detail: "partial lacks one of \(round.tensors.partialNames)", sender: message.sender, roundId: partial.roundId)
            return
        }
        do {
            for (index, tensor) in found.enumerated() { try tensor.accumulate(into: &round.sums[index]) }
        } catch {
            messenger.reject(error.code, detail: error.detail, sender: message.sender, roundId: partial.roundId)
            return
        }
        round.weightSum += partial.weightSum
        round.contributors += partial.contributors
        round.participants[partial.region.rawValue, default: 0] += partial.contributors
        if let metrics = partial.metrics { round.metrics.add(metrics) }
        for (reason, count) in partial.rejected { round.rejected[reason, default: 0] += count }
        round.clipped += partial.clippedCount
        round.bytesUp += partial.bytesUp ?? 0
        if complete { round.deadline = 0 }
    }

    /// The new model once every named shard reported or the deadline passed.
    mutating func candidateIfDue(now: Int64) throws -> (body: ModelCandidate, tensors: [Tensor])? {
        guard var round = current, !round.sent, now >= round.deadline else { return nil }
        round.round.close()
        round.sent = true
        current = round
        let privacy = round.open.privacy
        var newWeights = round.weights
        var denominator = 0.0
        var noiseStd = 0.0
        var version = round.open.modelVersion
        var effectiveNoise = 0.0
        if round.open.kind == .statistics {
            return statisticsCandidate(round)
        }
        if round.contributors > 0 {
            var sum = round.sums[0]
            if privacy.placement == .central, let clip = privacy.clipNorm {
                noiseStd = privacy.noiseMultiplier * clip
                CentralNoise.add(to: &sum, standardDeviation: noiseStd)
            }
            denominator = privacy.placement == .off ? round.weightSum : Double(privacy.expectedCohort)
            if let placement = Privacy.NoisePlacement(rawValue: privacy.placement.rawValue), let clip = privacy.clipNorm {
                effectiveNoise = DPFedAvgNoise(
                    noiseMultiplier: privacy.noiseMultiplier, clipNorm: clip, placement: placement,
                    expectedCohort: Double(privacy.expectedCohort)
                ).effectiveNoiseMultiplier(reporting: round.contributors)
            }
            let scale = Float(1 / max(denominator, .leastNonzeroMagnitude))
            let pseudoGradient = sum.map { $0 * scale }
            optimizer.step(weights: &newWeights, pseudoGradient: pseudoGradient)
            version += 1
        }
        var tensor = Tensor.f32le(name: "weights", newWeights)
        let digest = Digest.sha256Hex(tensor.bytes)
        tensor.sha256 = digest
        let missing = round.round.missing
        logger.info(
            "model candidate sent",
            metadata: [
                "round.id": "\(round.round.roundId)", "round.contributors": "\(round.contributors)",
                "shards.missing": "\(missing.joined(separator: ","))", "noise.std": "\(noiseStd)",
            ]
        )
        let body = ModelCandidate(
            roundId: round.round.roundId, modelVersion: version, modelDigest: digest,
            participants: ParticipantCounts(round.participants), contributors: round.contributors, weightSum: round.weightSum,
            denominator: denominator, noiseStd: noiseStd, metrics: round.metrics.summary,
            shardsReported: round.round.reported, shardsMissing: missing, clippedCount: round.clipped,
            bytesUp: round.bytesUp, rejected: round.rejected, effectiveNoiseMultiplier: effectiveNoise
        )
        return (body, [tensor])
    }

    /// A statistics round's outcome: the summed feature moments, passed on with the unchanged model
    /// (the coordinator turns them into the spec's scaling).
    private func statisticsCandidate(_ round: Current) -> (body: ModelCandidate, tensors: [Tensor]) {
        var weights = Tensor.f32le(name: "weights", round.weights)
        let digest = Digest.sha256Hex(weights.bytes)
        weights.sha256 = digest
        logger.info("feature statistics combined", metadata: ["round.id": "\(round.round.roundId)", "round.contributors": "\(round.contributors)"])
        let body = ModelCandidate(
            roundId: round.round.roundId, modelVersion: round.open.modelVersion, modelDigest: digest,
            participants: ParticipantCounts(round.participants), contributors: round.contributors, weightSum: round.weightSum,
            denominator: 0, noiseStd: 0, metrics: nil, shardsReported: round.round.reported, shardsMissing: round.round.missing,
            clippedCount: 0, bytesUp: round.bytesUp, rejected: round.rejected, effectiveNoiseMultiplier: 0
        )
        return (body, [weights] + zip(round.tensors.partialNames, round.sums).map { Tensor.f32le(name: $0, $1) })
    }
}
