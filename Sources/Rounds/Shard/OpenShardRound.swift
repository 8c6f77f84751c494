import Federation
import Privacy
import Wire

/// One round as a shard sees it once `round.open` named it: who may answer, the running sums
/// (O(model), whatever the cohort), and what the partial will report.
struct OpenShardRound {
    let roundId: Int
    let modelVersion: Int
    let kind: RoundKind
    let selection: CohortSelection
    let layout: TensorLayout
    let members: Set<String>
    /// Under DP: weight 1, server-side norm check, metrics ignored.
    let underDP: Bool
    /// The one aggregation path: `DPFixedClipping<FedAvg>` under DP, example-weighted `FedAvg`
    /// without, uniform `FedAvg` for the moments of a statistics round.
    let strategy: any AggregationStrategy<PartialAggregate>
    /// How updates are decoded when the round announced a compression; nil for plain `f32le`.
    let compression: ShardCompression?
    var sums: [PartialAggregate]
    /// What checking each tensor left for adding it (one per sum, reused): usually nothing, as
    /// the add is in place; a sum staged beside the old one only near the edge of `Float`. A
    /// refused update never touches `sums`.
    var scratch: [FoldScratch] = []
    var deadline: Int64
    var answered: Set<String> = []
    var contributors: [String] = []
    var declines = 0
    var metrics = MetricsTally()
    var rejected: [RejectReason: Int] = [:]
    /// Updates this shard refused as `normTooLarge`: the partial's `clippedCount`.
    var normRefusals = 0
    var bytes = 0
    var sent = false

    /// Builds the round's state; nil (with why) when `open` cannot be summed.
    static func make(
        _ message: Message<RoundOpen>,
        members: [String]
    ) -> Result<OpenShardRound, WireError> {
        let open = message.body
        guard let layout = TensorLayout(message) else {
            return .failure(WireError(code: .malformedHeader, detail: "no weights tensor or unreadable model spec"))
        }
        guard let placement = Privacy.NoisePlacement(rawValue: open.privacy.placement.rawValue) else {
            return .failure(
                WireError(code: .malformedHeader, detail: "noise placement \(open.privacy.placement) is unknown")
            )
        }
        let underDP = placement != .off && open.kind == .train
        let strategy: any AggregationStrategy<PartialAggregate>
        switch open.kind {
        case .statistics:
            strategy = FedAvg(weighting: .uniform)
        case .train where underDP:
            guard let clipNorm = open.privacy.clipNorm else {
                return .failure(WireError(code: .malformedHeader, detail: "DP round without a clip norm"))
            }
            let noise = DPFedAvgNoise(
                noiseMultiplier: open.privacy.noiseMultiplier,
                clipNorm: clipNorm,
                placement: placement,
                expectedCohort: Double(open.privacy.expectedCohort)
            )
            strategy = DPFixedClipping(
                FedAvg(weighting: .uniform),
                clipNorm: clipNorm,
                denominator: noise.fixedDenominator,
                workerNoiseStandardDeviation: noise.workerNoiseStandardDeviation,
                parameterCount: layout.elementCount
            )
        case .train:
            strategy = FedAvg(weighting: .byReportedWeight)
        }
        let compression: ShardCompression?
        switch ShardCompression.make(open, layout: layout, underDP: underDP) {
        case .failure(let error): return .failure(error)
        case .success(let made): compression = made
        }
        return .success(
            OpenShardRound(
                roundId: open.roundId,
                modelVersion: open.modelVersion,
                kind: open.kind,
                selection: open.selection,
                layout: layout,
                members: Set(members),
                underDP: underDP,
                strategy: strategy,
                compression: compression,
                sums: layout.updateNames.map { _ in strategy.makeAccumulator(parameterCount: layout.elementCount) },
                deadline: open.deadlineMillis
            )
        )
    }

    var everyoneAnswered: Bool { answered.count == members.count }
    var missing: Int { members.count - answered.count }

    mutating func count(_ reason: RejectReason) {
        rejected[reason, default: 0] += 1
        if reason == .normTooLarge { normRefusals += 1 }
    }

    /// The partial for the shard's global aggregator; marks the round sent.
    mutating func partial(region: DeviceClassName, shard: Int) -> ShardAction {
        sent = true
        let body = Partial(
            roundId: roundId,
            modelVersion: modelVersion,
            region: region,
            shard: shard,
            contributors: contributors.count,
            weightSum: sums.first?.weightSum ?? 0,
            members: contributors,
            metrics: underDP ? nil : metrics.summary,
            rejected: Dictionary(uniqueKeysWithValues: rejected.map { ($0.key.rawValue, $0.value) }),
            clippedCount: normRefusals,
            bytesUp: bytes
        )
        let tensors = zip(layout.partialNames, sums).map { Tensor.f32le(name: $0, $1.sum) }
        return .sendPartial(body, tensors: tensors)
    }

    /// Debug builds only: answers are members, contributors are unique answers, and every sum
    /// holds exactly the contributors.
    func _checkInvariants() {
        #if DEBUG
        precondition(answered.isSubset(of: members), "an answer from a non-member")
        precondition(Set(contributors).count == contributors.count, "a contributor counted twice")
        precondition(Set(contributors).isSubset(of: answered), "a contributor that did not answer")
        precondition(contributors.count + declines == answered.count, "answers are neither contributions nor declines")
        precondition(sums.allSatisfy { $0.count == contributors.count }, "a sum does not hold every contributor")
        precondition(sums.allSatisfy { $0.sum.allSatisfy(\.isFinite) }, "a running sum is not finite")
        #endif
    }
}

/// Example-weighted federated evaluation, merged exactly across workers and shards, with
/// checked arithmetic: an example count from the wire can be anything up to `Int.max`.
struct MetricsTally: Equatable {
    var examples = 0
    var lossSum = 0.0
    var correct = 0.0

    /// The tally with `metrics` added, or why it cannot be (`overflow`); self is unchanged.
    func adding(_ metrics: MetricsSummary) -> Result<MetricsTally, WireError> {
        let (examples, overflow) = self.examples.addingReportingOverflow(metrics.examples)
        let lossSum = self.lossSum + metrics.loss * Double(metrics.examples)
        let correct = self.correct + metrics.accuracy * Double(metrics.examples)
        guard !overflow, lossSum.isFinite, correct.isFinite else {
            return .failure(
                WireError(
                    code: .overflow,
                    detail: "metrics.examples \(metrics.examples) overflows the round's example count"
                )
            )
        }
        return .success(MetricsTally(examples: examples, lossSum: lossSum, correct: correct))
    }

    var summary: MetricsSummary? {
        guard examples > 0 else { return nil }
        return MetricsSummary(
            examples: examples,
            loss: lossSum / Double(examples),
            accuracy: correct / Double(examples)
        )
    }
}
