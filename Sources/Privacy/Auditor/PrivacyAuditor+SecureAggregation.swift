/// The cost a completion settles a round at, and what was wrong with it.
struct SettledRelease: Hashable, Sendable {
    var release: AccountedRelease
    /// The securely counted survivors it was computed with (`skellam` rounds).
    var survivors: Int?
    /// Recorded, but flagged (a sum released below the minimum survivors).
    var flag: String?
}

/// A completion the auditor will not record.
struct CompletionRefusal: Error, Hashable, Sendable {
    var reason: CompletionRejection
    var detail: String
}

extension PrivacyAuditor {
    /// What a released round cost: the Gaussian noise of `reporting` contributors, or, under
    /// `skellam`, the Skellam noise of the weakest shard's securely counted survivors.
    func settledRelease(
        _ proposal: RoundProposal,
        _ report: RoundReport,
        reporting: Int
    ) -> Result<SettledRelease, CompletionRefusal> {
        guard report.released else { return .success(SettledRelease(release: proposal.plannedRelease)) }
        guard proposal.placement == .skellam, let skellam = proposal.skellam else {
            let effective = proposal.noise.effectiveNoiseMultiplier(reporting: reporting)
            return .success(
                SettledRelease(
                    release: .gaussian(
                        SubsampledGaussian(samplingRate: proposal.samplingRate, noiseMultiplier: effective)
                    )
                )
            )
        }
        guard let records = report.secureAggregation, !records.isEmpty else {
            return .failure(
                CompletionRefusal(
                    reason: .missingSecureAggregation,
                    detail: "round \(report.roundID) is skellam but names no secure-aggregation record"
                )
            )
        }
        if let problem = Self.inconsistency(records, report, proposal) {
            return .failure(CompletionRefusal(reason: .inconsistentSecureAggregation, detail: problem))
        }
        // Shards with no survivor released nothing; every other shard released its own sum.
        let released = records.filter { $0.survivors > 0 }
        guard let weakest = released.min(by: { $0.survivors < $1.survivors }) else {
            return .success(SettledRelease(release: proposal.plannedRelease))
        }
        let release = SkellamRelease(
            skellam.parameters(clipNorm: proposal.clipNorm),
            samplingRate: proposal.samplingRate,
            survivors: weakest.survivors
        )
        let flag =
            weakest.survivors < skellam.minimumSurvivors
            ? "shard \(weakest.slot) released a sum of \(weakest.survivors) survivors, below the minimum "
                + "\(skellam.minimumSurvivors) the round was approved for: recorded at that cost" : nil
        return .success(SettledRelease(release: .skellam(release), survivors: weakest.survivors, flag: flag))
    }

    /// Why records cannot be believed, or nil: each shard once, survivors ≤ advertised, and per
    /// device class the survivors add up to exactly the contributors reported (under DP every
    /// weight is 1, so a shard's contributors are its unmasked inputs), and to no more than the
    /// approved bound. This catches a record for a shard that had no contributors, a shard left
    /// out, and survivors inflated to look like more noise.
    static func inconsistency(
        _ records: [SecAggShardRecord],
        _ report: RoundReport,
        _ proposal: RoundProposal
    )
        -> String?
    {
        var slots: Set<String> = []
        var survivorsByClass: [String: Int] = [:]
        var total = 0
        for record in records {
            guard slots.insert(record.slot).inserted else { return "shard \(record.slot) has two records" }
            guard record.survivors >= 0, record.survivors <= record.advertised else {
                return "shard \(record.slot) claims \(record.survivors) survivors of \(record.advertised) advertised"
            }
            let (classSum, overflow) = survivorsByClass[record.deviceClass, default: 0]
                .addingReportingOverflow(record.survivors)
            let (newTotal, totalOverflow) = total.addingReportingOverflow(record.survivors)
            guard !overflow, !totalOverflow else { return "the survivor counts overflow" }
            survivorsByClass[record.deviceClass] = classSum
            total = newTotal
        }
        guard total <= proposal.cohortBound else {
            return "\(total) survivors in all, the approved bound is \(proposal.cohortBound)"
        }
        let classes = Set(survivorsByClass.keys).union(report.participantsByClass.keys)
        for deviceClass in classes.sorted() {
            let survivors = survivorsByClass[deviceClass, default: 0]
            let contributors = max(report.participantsByClass[deviceClass, default: 0], 0)
            guard survivors == contributors else {
                return
                    "class \(deviceClass): the records count \(survivors) survivors, the report \(contributors) contributors"
            }
        }
        return nil
    }
}
