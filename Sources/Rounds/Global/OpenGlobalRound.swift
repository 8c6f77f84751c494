import Federation
import Privacy
import Wire

/// One round as the global aggregator sees it: the shards it waits for and what each was
/// assigned, the running sums of their partials, and the totals the candidate reports.
struct OpenGlobalRound {
    let open: RoundOpen
    let weights: [Float]
    let layout: TensorLayout
    /// `<class>/<shard>` → the members the assignment gave that shard.
    let assigned: [String: Set<String>]
    /// DP-FedAvg's server side (fixed denominator) when the round is private.
    let dp: DPFixedClipping<FedAvg>?
    let noise: DPFedAvgNoise?
    let strategy: any AggregationStrategy<PartialAggregate>
    var sums: [PartialAggregate]
    var totals = GlobalTotals()
    var reported: [String] = []
    var deadline: Int64
    var sent = false

    static func make(_ message: Message<RoundOpen>, graceMillis: Int64) -> Result<OpenGlobalRound, WireError> {
        let open = message.body
        guard let weights = message.tensor(named: "weights"), let layout = TensorLayout(message) else {
            return .failure(WireError(code: .malformedHeader, detail: "no weights tensor or unreadable model spec"))
        }
        guard let placement = Privacy.NoisePlacement(rawValue: open.privacy.placement.rawValue) else {
            return .failure(
                WireError(code: .malformedHeader, detail: "noise placement \(open.privacy.placement) is unknown")
            )
        }
        var assigned: [String: Set<String>] = [:]
        for shard in open.shards {
            assigned["\(shard.region.rawValue)/\(shard.shard)", default: []].formUnion(shard.members)
        }
        let noise = open.privacy.clipNorm.map {
            DPFedAvgNoise(
                noiseMultiplier: open.privacy.noiseMultiplier,
                clipNorm: $0,
                placement: placement,
                expectedCohort: Double(open.privacy.expectedCohort)
            )
        }
        let dp = noise.flatMap { noise in
            placement == .off || open.kind != .train
                ? nil
                : DPFixedClipping(
                    FedAvg(weighting: .uniform),
                    clipNorm: noise.clipNorm,
                    denominator: noise.fixedDenominator,
                    parameterCount: layout.elementCount
                )
        }
        let strategy: any AggregationStrategy<PartialAggregate> = dp ?? FedAvg()
        let (deadline, late) = open.deadlineMillis.addingReportingOverflow(max(0, graceMillis))
        return .success(
            OpenGlobalRound(
                open: open,
                weights: weights.floats(),
                layout: layout,
                assigned: assigned,
                dp: dp,
                noise: noise,
                strategy: strategy,
                sums: layout.partialNames.map { _ in strategy.makeAccumulator(parameterCount: layout.elementCount) },
                deadline: late ? .max : deadline
            )
        )
    }

    var roundId: Int { open.roundId }
    var missing: [String] { Set(assigned.keys).subtracting(reported).sorted() }
    var everyoneReported: Bool { reported.count == assigned.count }

    /// Debug builds only: reports are assigned shards, once each; the sums hold what was counted.
    func _checkInvariants() {
        #if DEBUG
        precondition(Set(reported).count == reported.count, "a shard reported twice")
        precondition(Set(reported).isSubset(of: assigned.keys), "a report from an unassigned shard")
        precondition(sums.allSatisfy { $0.count == totals.contributors }, "a sum does not hold every contributor")
        // A secure-aggregated Poisson shard cannot name its contributors (weight-0 members hide them).
        precondition(totals.contributorIds.count <= totals.contributors, "more contributor ids than contributors")
        #endif
    }
}

/// The integer and float totals a candidate reports, summed with checked arithmetic: a partial
/// claiming 2^62 contributors (twice) used to trap the global aggregator.
struct GlobalTotals: Equatable {
    var contributors = 0
    var contributorIds: [String] = []
    var participants: [String: Int] = [:]
    var metrics = MetricsTally()
    var rejected: [String: Int] = [:]
    var clipped = 0
    var bytesUp = 0
    /// The partials' secure-aggregation records, one per shard that ran SecAgg+.
    var secureAggregation: [SecureAggregationRecord] = []

    /// The totals with `partial` added, or why that would overflow; self is unchanged.
    func adding(_ partial: Partial) -> Result<GlobalTotals, WireError> {
        var next = self
        func add(_ a: Int, _ b: Int, _ what: String) -> Result<Int, WireError> {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .failure(WireError(code: .overflow, detail: "\(what) overflows")) : .success(sum)
        }
        do throws(WireError) {
            next.contributors = try add(contributors, partial.contributors, "contributors").get()
            next.participants[partial.region.rawValue] = try add(
                participants[partial.region.rawValue] ?? 0,
                partial.contributors,
                "participants"
            ).get()
            next.clipped = try add(clipped, partial.clippedCount, "clippedCount").get()
            next.bytesUp = try add(bytesUp, partial.bytesUp ?? 0, "bytesUp").get()
            for (reason, count) in partial.rejected {
                next.rejected[reason] = try add(rejected[reason] ?? 0, count, "rejected[\(reason)]").get()
            }
            if let metrics = partial.metrics { next.metrics = try next.metrics.adding(metrics).get() }
        } catch {
            return .failure(error)
        }
        next.contributorIds += partial.members
        if let record = partial.secureAggregation {
            guard record.deviceClass == partial.region.rawValue, record.shard == partial.shard else {
                return .failure(WireError(code: .malformedHeader, detail: "secure-aggregation record of another shard"))
            }
            next.secureAggregation.append(record)
        }
        return .success(next)
    }
}
