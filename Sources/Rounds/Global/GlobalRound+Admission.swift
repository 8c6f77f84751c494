import Federation
import Wire

extension GlobalRound {
    /// Checks a partial against the open round and, only if every check passes, combines it;
    /// a refused partial leaves the round (and its shard's slot) as it was.
    mutating func admit(
        _ message: Message<Partial>,
        from identity: PeerIdentity,
        using generator: inout some RandomNumberGenerator
    ) -> [GlobalAction] {
        let partial = message.body
        guard var round = current.take() else {
            return [
                .reject(
                    .staleRound,
                    sender: identity.name,
                    roundId: partial.roundId,
                    detail: "no round open at the global aggregator"
                )
            ]
        }
        defer { current = round }
        let shard = "\(partial.region.rawValue)/\(partial.shard)"
        switch check(message, from: identity, shard: shard, against: round) {
        case .failure(let error):
            if !round.sent { round.totals.rejected[error.code.rawValue, default: 0] &+= 1 }
            return [
                .reject(
                    error.code,
                    sender: identity.name,
                    roundId: partial.roundId,
                    detail: "partial from \(shard) refused: \(error.detail)"
                )
            ]
        case .success(let admitted):
            for (index, sum) in admitted.sums.enumerated() {
                round.strategy.combine(sum, into: &round.sums[index])
            }
            round.totals = admitted.totals
            round.reported.append(shard)
        }
        var actions: [GlobalAction] = [
            .note(.partialAccepted(shard: shard, roundId: partial.roundId, contributors: partial.contributors))
        ]
        if round.everyoneReported { actions += candidate(&round, using: &generator) }
        return actions
    }

    private struct Admitted {
        var sums: [PartialAggregate]
        var totals: GlobalTotals
    }

    /// Every check, reading only; the first fault is the answer.
    private func check(
        _ message: Message<Partial>,
        from identity: PeerIdentity,
        shard: String,
        against round: OpenGlobalRound
    ) -> Result<Admitted, WireError> {
        let partial = message.body
        if let refusal = RoundGate.refusal(
            roundId: partial.roundId,
            modelVersion: partial.modelVersion,
            openRoundId: round.roundId,
            openModelVersion: round.open.modelVersion,
            closed: round.sent,
            sentWhat: "candidate"
        ) {
            return .failure(refusal)
        }
        guard let members = round.assigned[shard] else {
            return .failure(WireError(code: .unknownSender, detail: "\(shard) is not in the round's assignment"))
        }
        let expectedSender = Self.aggregatorId(region: partial.region, shard: partial.shard)
        guard identity.name == expectedSender else {
            return .failure(
                WireError(
                    code: .unauthorizedSender,
                    detail: "\(identity.name) may not send \(expectedSender)'s partial"
                )
            )
        }
        guard !round.reported.contains(shard) else {
            return .failure(WireError(code: .duplicate, detail: "\(shard) already reported round \(round.roundId)"))
        }
        guard partial.contributors <= members.count, partial.members.count <= members.count else {
            return .failure(
                WireError(
                    code: .overflow,
                    detail: "\(partial.contributors) contributors, the shard was assigned \(members.count)"
                )
            )
        }
        let claimed = Set(partial.members)
        // A secure-aggregated Poisson shard cannot name its contributors (members that did not
        // sample themselves took part with weight 0); it names none, and at most its survivors count.
        let unnamed = partial.members.isEmpty && partial.contributors <= (partial.secureAggregation?.survivors ?? 0)
        guard unnamed || partial.contributors == partial.members.count, claimed.count == partial.members.count else {
            return .failure(
                WireError(
                    code: .malformedHeader,
                    detail:
                        "contributors \(partial.contributors) but \(claimed.count) distinct of \(partial.members.count) members"
                )
            )
        }
        guard claimed.isSubset(of: members) else {
            return .failure(WireError(code: .notInCohort, detail: "members outside \(shard)'s assignment"))
        }
        let tensors: [Tensor]
        switch round.layout.tensors(named: round.layout.partialNames, in: message.tensors, digest: configuration.digest)
        {
        case .failure(let error): return .failure(error)
        case .success(let found): tensors = found
        }
        var sums: [PartialAggregate] = []
        for (index, tensor) in tensors.enumerated() {
            let sum = PartialAggregate(sum: tensor.floats(), weightSum: partial.weightSum, count: partial.contributors)
            if let refusal = round.strategy.refusal(of: sum, in: round.sums[index]) { return .failure(refusal) }
            sums.append(sum)
        }
        switch round.totals.adding(partial) {
        case .failure(let error): return .failure(error)
        case .success(let totals): return .success(Admitted(sums: sums, totals: totals))
        }
    }
}
