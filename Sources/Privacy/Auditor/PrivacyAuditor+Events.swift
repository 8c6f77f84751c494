extension PrivacyAuditor {
    /// Approves or denies a proposed round: order, well-formedness, policy, then budget.
    ///
    /// Denies for order (`notNextRound`, `replayedRound`, `conflictingProposal`) change nothing
    /// and write no line; denies on the proposal's merits (`invalidParameters`, `outsidePolicy`,
    /// `budgetExceeded`) are written, so that id is never approved afterwards.
    public mutating func proposalReceived(_ proposal: RoundProposal) -> Verdict {
        let current = spent
        let id = proposal.roundID
        switch rounds[id] {
        case .approved(let decided, let answered), .denied(let decided, let answered):
            if decided == proposal { return repeated(answered) }
            if case .approved = rounds[id] {
                return verdict(
                    id,
                    .conflictingProposal,
                    detail: "round \(id) is approved with other parameters",
                    current
                )
            }
            return verdict(id, .replayedRound, detail: "round \(id) was denied; its id is never approved", current)
        case .completed:
            return verdict(id, .replayedRound, detail: "round \(id) completed; its id is never approved again", current)
        case nil:
            break
        }
        guard id > lastRoundID else {
            return verdict(
                id,
                .notNextRound,
                detail: "round \(id) is not above the last recorded round \(lastRoundID)",
                current
            )
        }
        // id > lastRoundID ≥ 0, so the difference cannot overflow.
        guard id - lastRoundID <= policy.maxRoundGap else {
            return verdict(
                id,
                .notNextRound,
                detail:
                    "round \(id) is more than \(policy.maxRoundGap) ids past the last recorded round \(lastRoundID)",
                current
            )
        }
        guard proposal.isWellFormed else {
            return recordDenial(
                proposal,
                .invalidParameters,
                detail: "q, z, C, m or the cohort bound is out of range",
                current: current
            )
        }
        if let violation = policy.violation(proposal) {
            return recordDenial(proposal, .outsidePolicy, detail: violation, current: current)
        }
        let projected = totals(adding: proposal.plannedRelease)
        let epsilon = enforced(rdp: projected.rdp, pld: projected.pld)
        guard epsilon.isFinite, epsilon <= configuration.epsilonBudget else {
            return recordDenial(
                proposal,
                .budgetExceeded,
                detail: "ε would reach \(epsilon) > budget \(configuration.epsilonBudget)",
                current: current
            )
        }
        var entry = entry(.approve, round: id, totals: projected)
        entry.mechanism = proposal.ledgerMechanism
        entry.cohortBound = proposal.cohortBound
        var chain = self.chain
        guard let line = try? chain.append(entry, signedWith: signingKey) else {
            return verdict(id, .ledgerFailure, detail: "the approval could not be encoded", current)
        }
        self.chain = chain
        let approval = verdict(id, nil, detail: nil, projected)
        applyApproval(proposal, approval)
        var answer = approval
        answer.ledgerLine = line
        return answer
    }

    /// Records a finished round: participants (hashed under this ledger's salt), rejections, model
    /// hash, and the noise actually present.
    public mutating func roundCompleted(_ report: RoundReport) -> CompletionAction {
        let id = report.roundID
        let proposal: RoundProposal
        switch rounds[id] {
        case .approved(let approved, _): proposal = approved
        case .completed(_, _, let line): return .alreadyRecorded(ledgerLine: line)
        case .denied: return .reject(reason: .notApproved, detail: "round \(id) was denied")
        case nil: return .reject(reason: .notApproved, detail: "round \(id) was never approved")
        }
        let named = report.contributorIDs.map(Set.init)
        if let named, named.count > proposal.cohortBound {
            return .reject(
                reason: .tooManyContributors,
                detail: "\(named.count) contributors named, the approved bound is \(proposal.cohortBound)"
            )
        }
        // For distributed noise a smaller k means less noise, so the smallest count claimed is the
        // safe one; none may exceed what was approved.
        var reporting = min(report.classTotal, proposal.cohortBound)
        if let named { reporting = min(reporting, named.count) }
        let settled: SettledRelease
        switch settledRelease(proposal, report, reporting: reporting) {
        case .success(let release): settled = release
        case .failure(let refusal): return .reject(reason: refusal.reason, detail: refusal.detail)
        }
        let deviceKeys = named.map { Set($0.map(hasher.key(for:))) }

        var after = self
        after.applyCompletion(proposal, release: settled.release, deviceKeys: deviceKeys, line: "", totals: nil)
        var entry = entry(.complete, round: id, totals: after.spent)
        var mechanism = proposal.ledgerMechanism
        mechanism.effectiveNoiseMultiplier = settled.release.effectiveNoiseMultiplier
        mechanism.survivors = settled.survivors
        entry.mechanism = mechanism
        entry.participantsByClass = report.participantsByClass
        entry.rejectedByReason = report.rejectedByReason
        entry.modelHash = report.modelHash
        entry.clippedUpdates = report.clippedUpdates
        entry.participantHashes = deviceKeys.map { $0.sorted() }
        entry.secureAggregation = report.secureAggregation
        entry.detail = settled.flag
        if proposal.placement == .local {
            entry.epsilonLocalWorstDevice = after.localDevices.worstEpsilon(delta: configuration.delta)
            entry.localRoundsWorstDevice = after.localDevices.worst.rounds
        }
        guard let line = try? after.chain.append(entry, signedWith: signingKey) else {
            return .reject(reason: .ledgerFailure, detail: "the completion could not be encoded")
        }
        let effective = settled.release.effectiveNoiseMultiplier
        after.rounds[id] = .completed(proposal, effectiveNoiseMultiplier: effective, line: line)
        self = after
        return .record(
            ledgerLine: line,
            effectiveNoiseMultiplier: effective,
            epsilonRDP: spent.rdp,
            epsilonPLD: spent.pld,
            flag: settled.flag
        )
    }

    // MARK: - Helpers

    private func repeated(_ verdict: Verdict) -> Verdict {
        var answer = verdict
        answer.isRepeat = true
        answer.ledgerLine = nil
        return answer
    }

    private mutating func recordDenial(
        _ proposal: RoundProposal,
        _ reason: Verdict.DenyReason,
        detail: String,
        current: EpsilonTotals
    ) -> Verdict {
        var entry = entry(.deny, round: proposal.roundID, totals: current)
        entry.mechanism = proposal.ledgerMechanism
        entry.cohortBound = proposal.cohortBound
        entry.reason = reason.rawValue
        entry.detail = detail
        var chain = self.chain
        guard let line = try? chain.append(entry, signedWith: signingKey) else {
            return verdict(proposal.roundID, .ledgerFailure, detail: "the deny could not be encoded", current)
        }
        self.chain = chain
        let denial = verdict(proposal.roundID, reason, detail: detail, current)
        applyDenial(proposal, denial)
        var answer = denial
        answer.ledgerLine = line
        return answer
    }
}
