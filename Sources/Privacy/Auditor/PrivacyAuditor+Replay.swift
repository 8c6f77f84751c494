extension PrivacyAuditor {
    /// Rebuilds the auditor of a restarted process from its ledger lines.
    ///
    /// Why replay rather than a snapshot: the ledger is already the fsynced record of every
    /// decision, so nothing spent can be forgotten and nothing needs a second file. The chain and
    /// every signature are verified first, against `signingKey`'s public key: a tampered,
    /// re-chained or foreign ledger is refused (fail closed), since budget could hide in it.
    public init(
        replaying lines: [String],
        policy: AuditorPolicy = .standard,
        signingKey: LedgerSigningKey
    ) throws(LedgerError) {
        let verification = LedgerChain.verify(lines: lines, publicKey: signingKey.publicKey)
        if let problem = verification.firstProblem {
            throw LedgerError(
                code: .tampered,
                detail: "line \(problem.index): \(problem.reason.rawValue)",
                problem: problem
            )
        }
        guard let first = lines.first, let last = lines.last else {
            throw LedgerError(code: .inconsistent, detail: "empty ledger")
        }
        let header = try LedgerChain.decode(first)
        guard header.kind == .header, let salt = header.participationSalt,
            let enforcement = header.enforcement.flatMap(AuditorConfiguration.Enforcement.init(rawValue:))
        else {
            throw LedgerError(code: .inconsistent, detail: "first entry is not a header")
        }
        let configuration = AuditorConfiguration(
            epsilonBudget: header.budget,
            delta: header.delta,
            enforcement: enforcement,
            pldDiscretization: header.pldDiscretization
        )
        try self.init(
            configuration: configuration,
            policy: policy,
            participationSalt: salt,
            signingKey: signingKey,
            chain: try LedgerChain(resumingAfter: last)
        )
        for line in lines.dropFirst() {
            try replay(try LedgerChain.decode(line), line: line)
        }
    }

    private mutating func replay(_ entry: LedgerEntry, line: String) throws(LedgerError) {
        let totals = EpsilonTotals(rdp: entry.epsilonRDP ?? .infinity, pld: entry.epsilonPLD)
        switch entry.kind {
        case .approve:
            let proposal = try Self.proposal(of: entry)
            applyApproval(proposal, verdict(proposal.roundID, nil, detail: nil, totals))
        case .deny:
            let proposal = try Self.proposal(of: entry)
            guard let reason = entry.reason.flatMap(Verdict.DenyReason.init(rawValue:)), reason.isRecorded else {
                throw LedgerError(code: .inconsistent, detail: "deny entry \(entry.sequence) has no recorded reason")
            }
            applyDenial(proposal, verdict(proposal.roundID, reason, detail: entry.detail, totals))
        case .complete:
            guard let round = entry.round, let effective = entry.mechanism?.effectiveNoiseMultiplier,
                case .approved(let proposal, _) = rounds[round]
            else {
                throw LedgerError(
                    code: .inconsistent,
                    detail: "complete entry \(entry.sequence) has no pending approved round"
                )
            }
            applyCompletion(
                proposal,
                release: Self.release(
                    of: proposal,
                    effectiveNoiseMultiplier: effective,
                    survivors: entry.mechanism?.survivors
                ),
                deviceKeys: entry.participantHashes.map(Set.init),
                line: line,
                totals: totals
            )
        default:
            // Unknown future kinds are records only.
            break
        }
    }

    private static func proposal(of entry: LedgerEntry) throws(LedgerError) -> RoundProposal {
        guard let round = entry.round, let mechanism = entry.mechanism, let bound = entry.cohortBound else {
            throw LedgerError(
                code: .inconsistent,
                detail: "\(entry.kind) entry \(entry.sequence) lacks its round, mechanism or cohort bound"
            )
        }
        return RoundProposal(
            roundID: round,
            samplingRate: mechanism.samplingRate,
            noiseMultiplier: mechanism.noiseMultiplier,
            clipNorm: mechanism.clipNorm,
            placement: mechanism.placement,
            expectedCohort: mechanism.expectedCohort,
            cohortBound: bound,
            skellam: mechanism.skellam
        )
    }

    /// The release a complete entry settled: Skellam at its recorded survivors (none recorded:
    /// nothing was released, the planned cost stands), else the Gaussian at its effective z.
    private static func release(
        of proposal: RoundProposal,
        effectiveNoiseMultiplier: Double,
        survivors: Int?
    ) -> AccountedRelease {
        if proposal.placement == .skellam, let skellam = proposal.skellam {
            guard let survivors else { return proposal.plannedRelease }
            return .skellam(
                SkellamRelease(
                    skellam.parameters(clipNorm: proposal.clipNorm),
                    samplingRate: proposal.samplingRate,
                    survivors: survivors
                )
            )
        }
        return .gaussian(
            SubsampledGaussian(samplingRate: proposal.samplingRate, noiseMultiplier: effectiveNoiseMultiplier)
        )
    }
}
