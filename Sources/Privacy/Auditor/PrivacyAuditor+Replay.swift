extension PrivacyAuditor {
    /// Rebuilds the auditor of a restarted process from its ledger lines.
    ///
    /// Why replay rather than a snapshot: the ledger is already the fsynced record of every
    /// decision, so nothing spent can be forgotten and nothing needs a second file. The chain is
    /// verified first; a tampered ledger is refused (fail closed), since budget could hide in it.
    public init(replaying lines: [String]) throws(LedgerError) {
        let verification = LedgerChain.verify(lines: lines)
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
        self.init(configuration: configuration, participationSalt: salt, chain: try LedgerChain(resumingAfter: last))
        for line in lines.dropFirst() {
            let entry = try LedgerChain.decode(line)
            try replay(entry)
        }
    }

    private mutating func replay(_ entry: LedgerEntry) throws(LedgerError) {
        switch entry.kind {
        case .approve:
            guard let round = entry.round, let mechanism = entry.mechanism else {
                throw LedgerError(code: .inconsistent, detail: "approve entry \(entry.sequence) lacks its round")
            }
            applyApproval(
                RoundProposal(
                    roundID: round,
                    samplingRate: mechanism.samplingRate,
                    noiseMultiplier: mechanism.noiseMultiplier,
                    clipNorm: mechanism.clipNorm,
                    placement: mechanism.placement,
                    expectedCohort: mechanism.expectedCohort
                )
            )
        case .complete:
            guard let round = entry.round, let effective = entry.mechanism?.effectiveNoiseMultiplier,
                rounds[round] != nil
            else {
                throw LedgerError(code: .inconsistent, detail: "complete entry \(entry.sequence) has no approved round")
            }
            applyCompletion(round, effectiveNoiseMultiplier: effective)
        default:
            // Deny entries spend nothing; unknown future kinds are records only.
            break
        }
    }
}
