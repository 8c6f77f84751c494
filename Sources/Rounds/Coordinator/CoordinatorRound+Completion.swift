import Learning
public import Wire

extension CoordinatorRound {
    /// The global aggregator's model for the open round: checked, evaluated, checkpointed,
    /// reported to the auditor and summarised on the broadcast.
    public mutating func candidateReceived(
        _ message: Message<ModelCandidate>,
        from identity: PeerIdentity,
        now: Int64
    ) -> [CoordinatorAction] {
        let candidate = message.body
        let weights: [Float]
        switch candidateCheck.check(message, from: identity, globalId: aggregators.global?.id, openRoundId: openRoundId)
        {
        case .success(let checked): weights = checked
        case .failure(let refusal):
            if case .open(var round) = phase {
                round.rejected[refusal.reason.rawValue, default: 0] += 1
                phase = .open(round)
            }
            return [.reject(refusal.reason, sender: identity.name, roundId: candidate.roundId, detail: refusal.detail)]
        }
        guard case .open(var round) = phase else { return [] }
        // Shards take updates only from the members the round announced, so a contributor
        // outside them is a lie the coordinator can check: taken, it spent a device's
        // participation (and its privacy accounting) on a round the device was not in.
        if let ids = candidate.contributorIds, case let members = Set(round.draft.members),
            !members.isSuperset(of: ids)
        {
            let foreign = ids.filter { !members.contains($0) }
            round.rejected[RejectReason.notInCohort.rawValue, default: 0] += 1
            phase = .open(round)
            return [
                .reject(
                    .notInCohort,
                    sender: identity.name,
                    roundId: candidate.roundId,
                    detail:
                        "model candidate names \(foreign.count) contributors the round did not announce (\(foreign.prefix(3).joined(separator: ",")))"
                )
            ]
        }
        if statisticsPending {
            phase = .idle(nextAttempt: now)
            return statisticsReceived(message)
        }
        guard candidate.contributors >= settings.minParticipants else {
            phase = .idle(nextAttempt: now)
            return [
                .warning(
                    "round closed with too few contributors; retrying",
                    [
                        "round.id": "\(round.draft.roundId)", "round.contributors": "\(candidate.contributors)",
                        "round.minimum": "\(settings.minParticipants)",
                    ]
                )
            ]
        }
        return completed(round, candidate: candidate, weights: weights, now: now)
    }

    /// Takes the model: participation from the ids in the sum, hold-out evaluation, checkpoint
    /// (before anything is announced), completion for the auditor, summary for everyone.
    mutating func completed(
        _ round: OpenRound,
        candidate: ModelCandidate,
        weights: [Float],
        now: Int64
    ) -> [CoordinatorAction] {
        var actions: [CoordinatorAction] = []
        progress.weights = weights
        progress.modelVersion = candidate.modelVersion
        progress.completedRounds += 1
        let contributorIds = candidate.contributorIds ?? (round.draft.selection == .listed ? round.draft.members : [])
        if candidate.contributorIds == nil && round.draft.selection == .poisson && settings.participationCap != nil {
            actions.append(
                .warning(
                    "model candidate names no contributors; participation is not counted",
                    ["round.id": "\(round.draft.roundId)"]
                )
            )
        }
        for id in Set(contributorIds) { progress.participation[participationKey(id), default: 0] += 1 }
        var rejected = candidate.rejected ?? [:]
        rejected.merge(round.rejected, uniquingKeysWith: { $0.addingReportingOverflow($1).partialValue })
        let seconds = Double(max(0, now - round.openedAt)) / 1_000
        // No per-device metric under DP: the workers' federated evaluation is withheld there.
        let federated = settings.isPrivate ? nil : candidate.metrics
        var record = RoundSummary(
            round: progress.completedRounds,
            roundId: round.draft.roundId,
            modelVersion: candidate.modelVersion,
            participants: candidate.participants,
            contributors: candidate.contributors,
            accuracy: federated?.accuracy,
            loss: federated?.loss,
            federatedAccuracy: federated?.accuracy,
            seconds: seconds,
            bytesUp: candidate.bytesUp ?? 0,
            bytesDown: round.bytesDown,
            epsilon: round.epsilon,
            rejected: rejected.isEmpty ? nil : rejected,
            secureAggregation: candidate.secureAggregation
        )
        if let holdout = settings.holdout, let data = try? holdout.dataset(spec: progress.spec),
            let metrics = try? Evaluator.evaluate(spec: progress.spec, weights: weights, data: data)
        {
            record.accuracy = metrics.accuracy
            record.loss = metrics.logLoss
        }
        progress.history.append(record)
        if settings.hasAuditor {
            progress.unacknowledgedCompletions.append(
                RoundCompleted(
                    roundId: round.draft.roundId,
                    modelVersion: candidate.modelVersion,
                    modelDigest: candidate.modelDigest,
                    participants: candidate.participants,
                    contributors: candidate.contributors,
                    rejected: candidate.rejected ?? [:],
                    clippedCount: candidate.clippedCount,
                    effectiveNoiseMultiplier: candidate.effectiveNoiseMultiplier ?? 0,
                    metrics: settings.isPrivate ? nil : candidate.metrics,
                    contributorIds: candidate.contributorIds,
                    secureAggregation: candidate.secureAggregation
                )
            )
        }
        actions.append(.persist(progress))
        actions.append(
            .info(
                "round completed",
                [
                    "round.number": "\(record.round)", "round.id": "\(round.draft.roundId)",
                    "round.contributors": "\(candidate.contributors)",
                    "model.accuracy": record.accuracy.map { "\($0)" } ?? "-", "round.seconds": "\(seconds)",
                    "round.aggregation": SecureAggregationRecord.summary(candidate.secureAggregation),
                ]
            )
        )
        actions.append(.publishSummary(record))
        nextCompletionResend = 0
        actions += resendCompletions(now: now)
        if let target = settings.targetAccuracy, let accuracy = record.accuracy, accuracy >= target {
            return actions + finish(.targetReached)
        }
        phase = .idle(nextAttempt: now)
        return actions
    }

    /// Folds the federated feature moments into the spec's scaling; the model itself is unchanged.
    mutating func statisticsReceived(_ message: Message<ModelCandidate>) -> [CoordinatorAction] {
        let names = ["sum", "sumSquares", "count"]
        let tensors = names.compactMap { message.tensor(named: $0) }
        let featureCount = progress.spec.features.count
        let roundId = ["round.id": "\(message.body.roundId)"]
        // Read as floats, so f32le only: a q8 `count` of the right element count is a quarter as
        // many floats, and the standardization below indexed past its end (the coordinator trapped).
        guard tensors.count == names.count,
            tensors.allSatisfy({ $0.elementCount == featureCount && $0.encoding == .f32le })
        else {
            return [.warning("statistics round returned no usable moments; retrying", roundId)]
        }
        let values = tensors.map { $0.floats().map(Double.init) }
        guard values.allSatisfy({ $0.allSatisfy(\.isFinite) }) else {
            return [.warning("statistics round returned non-finite moments; retrying", roundId)]
        }
        let moments = FeatureMoments(sums: values[0], sumSquares: values[1], counts: values[2])
        let reference = progress.spec.features.map(\.scaling)
        guard let spec = try? progress.spec.replacingScaling(moments.standardization(relativeTo: reference)) else {
            return [.warning("statistics round's moments give no usable scaling; retrying", roundId)]
        }
        progress.spec = spec
        progress.statisticsDone = true
        return [
            .persist(progress),
            .info(
                "feature statistics folded into the spec",
                roundId.merging([
                    "round.contributors": "\(message.body.contributors)", "examples": "\(values[2].max() ?? 0)",
                ]) { $1 }
            ),
        ]
    }

    /// Every completion the auditor has not recorded yet, at most every 3 s.
    mutating func resendCompletions(now: Int64) -> [CoordinatorAction] {
        guard settings.hasAuditor, !progress.unacknowledgedCompletions.isEmpty, now >= nextCompletionResend else {
            return []
        }
        nextCompletionResend = now + 3_000
        return progress.unacknowledgedCompletions.map { .sendCompletion($0) }
    }
}
