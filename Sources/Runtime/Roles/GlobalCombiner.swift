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
        var sum: [Float]
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
        guard let weights = message.tensors.first(where: { $0.name == "weights" }) else { return }
        let names = open.shards.map { "\($0.region.rawValue)/\($0.shard)" }
        current = Current(
            round: GlobalRound(roundId: open.roundId, modelVersion: open.modelVersion, expectedShards: names),
            open: open, weights: weights.floats(), sum: [Float](repeating: 0, count: weights.elementCount),
            deadline: open.deadlineMillis + config.graceMillis
        )
    }

    mutating func partialReceived(_ message: Message<Partial>) {
        let partial = message.body
        guard var round = current else {
            messenger.reject(.staleRound, detail: "partial with no round open", sender: message.sender, roundId: partial.roundId)
            return
        }
        let name = "\(partial.region.rawValue)/\(partial.shard)"
        let admission = round.round.partialReceived(shard: name, roundId: partial.roundId, modelVersion: partial.modelVersion)
        guard case .accept(let complete) = admission else {
            if case .reject(let reason) = admission {
                messenger.reject(reason, detail: "partial from \(name) refused", sender: message.sender, roundId: partial.roundId)
            }
            return
        }
        guard let sum = message.tensors.first(where: { $0.name == "sum" }) else {
            messenger.reject(.frameCountMismatch, detail: "partial without a sum tensor", sender: message.sender, roundId: partial.roundId)
            return
        }
        do {
            try sum.accumulate(into: &round.sum)
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
        current = round
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
        if round.contributors > 0 {
            var sum = round.sum
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
}
