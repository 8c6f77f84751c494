/// The privacy auditor's state machine: proposals and completion reports in, verdicts and
/// ledger lines out.
///
/// Why pure: the runtime owns the sockets and the file; this owns the decisions, so budget
/// exhaustion, repeated proposals and restarts are tested without either. A round counts as
/// spent the moment it is approved, at its planned z. When it completes, its cost is replaced by
/// the cost of the noise actually present (distributed noise with k of m reporting carries
/// z·√(k/m)), which can push the total over the budget after the fact; later proposals are then
/// denied.
///
/// The runtime must append and fsync each returned ledger line **before** it sends the verdict
/// or acknowledges the report: the ledger is the write-ahead log a restarted auditor replays
/// with `init(replaying:)`.
public struct PrivacyAuditor: Hashable, Sendable {
    struct RoundState: Hashable, Sendable {
        var proposal: RoundProposal
        var effectiveNoiseMultiplier: Double?
    }

    /// The run's configuration, from the ledger header.
    public let configuration: AuditorConfiguration
    /// The per-run participation salt, from the ledger header (see `ParticipationCounter`).
    public let participationSalt: String
    private(set) var chain: LedgerChain
    private(set) var rounds: [Int: RoundState] = [:]
    /// Approved rounds not yet completed, in approval order; composed at their planned z.
    private(set) var pending: [Int] = []
    /// Completed rounds at the noise actually present.
    private(set) var settledRDP = RDPAccountant()
    private(set) var settledPLD: PLDAccountant?

    init(configuration: AuditorConfiguration, participationSalt: String, chain: LedgerChain) {
        self.configuration = configuration
        self.participationSalt = participationSalt
        self.chain = chain
        self.settledPLD = configuration.pldDiscretization.map { PLDAccountant(discretization: $0) }
    }

    /// Starts a new run and returns the header line to write first.
    public static func start(
        configuration: AuditorConfiguration,
        participationSalt: String
    ) throws(LedgerError) -> (auditor: PrivacyAuditor, headerLine: String) {
        var auditor = PrivacyAuditor(
            configuration: configuration,
            participationSalt: participationSalt,
            chain: LedgerChain()
        )
        var header = LedgerEntry(kind: .header, delta: configuration.delta, budget: configuration.epsilonBudget)
        header.enforcement = configuration.enforcement.rawValue
        header.pldDiscretization = configuration.pldDiscretization
        header.participationSalt = participationSalt
        header.epsilonRDP = 0
        header.epsilonPLD = configuration.pldDiscretization == nil ? nil : 0
        let line = try auditor.chain.append(header)
        return (auditor, line)
    }

    // MARK: - Totals

    /// ε spent so far (approved rounds) by RDP and, when on, PLD.
    public var spent: (rdp: Double, pld: Double?) { totals(adding: nil) }

    /// The ε the budget is checked against, given both totals.
    func enforced(rdp: Double, pld: Double?) -> Double {
        switch configuration.enforcement {
        case .rdp: rdp
        case .pld: pld ?? rdp
        case .tightest: min(rdp, pld ?? rdp)
        }
    }

    private func totals(adding extra: SubsampledGaussian?) -> (rdp: Double, pld: Double?) {
        var mechanisms = pending.compactMap { rounds[$0]?.proposal.mechanism }
        if let extra { mechanisms.append(extra) }
        var rdp = settledRDP
        for mechanism in mechanisms { rdp.compose(mechanism) }
        let rdpEpsilon = rdp.epsilon(delta: configuration.delta).epsilon
        guard var pld = settledPLD else { return (rdpEpsilon, nil) }
        // Group identical pending rounds so each group is one FFT power.
        var counts: [SubsampledGaussian: Int] = [:]
        var order: [SubsampledGaussian] = []
        for mechanism in mechanisms {
            if counts[mechanism] == nil { order.append(mechanism) }
            counts[mechanism, default: 0] += 1
        }
        for mechanism in order { pld.compose(mechanism, count: counts[mechanism] ?? 0) }
        return (rdpEpsilon, pld.epsilon(delta: configuration.delta).epsilon)
    }

    // MARK: - Events

    /// Approves or denies a proposed round against the budget.
    ///
    /// A repeat of an approved round id with the same parameters (a restarted coordinator asking
    /// again) is approved again without being counted twice and without a ledger line.
    ///
    /// `selected` (salted hashes of the cohort's device ids) goes into the approval entry, so the
    /// ledger records each device's participation without naming it; it plays no part in the
    /// accounting, so a repeat is recognised by its mechanism alone.
    public mutating func proposalReceived(_ proposal: RoundProposal, selected: [String] = []) -> Verdict {
        let current = spent
        if let existing = rounds[proposal.roundID] {
            if existing.proposal == proposal {
                return verdict(proposal.roundID, nil, current, isRepeat: true, line: nil)
            }
            return deny(proposal, .conflictingProposal, current: current)
        }
        guard proposal.isWellFormed else { return deny(proposal, .invalidParameters, current: current) }
        let projected = totals(adding: proposal.mechanism)
        let epsilon = enforced(rdp: projected.rdp, pld: projected.pld)
        guard epsilon.isFinite, epsilon <= configuration.epsilonBudget else {
            return deny(proposal, .budgetExceeded, current: current, projected: projected)
        }
        var entry = entry(.approve, round: proposal.roundID, totals: projected)
        entry.mechanism = proposal.ledgerMechanism
        entry.participantHashes = selected.isEmpty ? nil : selected
        var chain = self.chain
        guard let line = try? chain.append(entry) else {
            return verdict(proposal.roundID, .ledgerFailure, current, isRepeat: false, line: nil)
        }
        self.chain = chain
        applyApproval(proposal)
        return verdict(proposal.roundID, nil, projected, isRepeat: false, line: line)
    }

    /// Records a finished round: participants, rejections, model hash, and the noise actually present.
    public mutating func roundCompleted(_ report: RoundReport) -> CompletionAction {
        guard let state = rounds[report.roundID] else { return .reject(reason: .notApproved) }
        guard state.effectiveNoiseMultiplier == nil else { return .reject(reason: .duplicate) }
        let proposal = state.proposal
        let effective: Double
        if report.released {
            let noise = DPFedAvgNoise(
                noiseMultiplier: proposal.noiseMultiplier,
                clipNorm: proposal.clipNorm,
                placement: proposal.placement,
                expectedCohort: proposal.expectedCohort
            )
            effective = noise.effectiveNoiseMultiplier(reporting: report.reportingCount)
        } else {
            effective = proposal.mechanism.noiseMultiplier
        }
        var after = self
        after.applyCompletion(report.roundID, effectiveNoiseMultiplier: effective)
        let totals = after.spent
        var entry = entry(.complete, round: report.roundID, totals: totals)
        var mechanism = proposal.ledgerMechanism
        mechanism.effectiveNoiseMultiplier = effective
        entry.mechanism = mechanism
        entry.participantsByClass = report.participantsByClass
        entry.rejectedByReason = report.rejectedByReason
        entry.modelHash = report.modelHash
        entry.clippedUpdates = report.clippedUpdates
        guard let line = try? after.chain.append(entry) else { return .reject(reason: .ledgerFailure) }
        self = after
        return .record(
            ledgerLine: line,
            effectiveNoiseMultiplier: effective,
            epsilonRDP: totals.rdp,
            epsilonPLD: totals.pld
        )
    }

    // MARK: - Transitions shared with replay

    mutating func applyApproval(_ proposal: RoundProposal) {
        rounds[proposal.roundID] = RoundState(proposal: proposal, effectiveNoiseMultiplier: nil)
        pending.append(proposal.roundID)
    }

    mutating func applyCompletion(_ roundID: Int, effectiveNoiseMultiplier: Double) {
        guard var state = rounds[roundID] else { return }
        state.effectiveNoiseMultiplier = effectiveNoiseMultiplier
        rounds[roundID] = state
        pending.removeAll { $0 == roundID }
        let mechanism = SubsampledGaussian(
            samplingRate: state.proposal.samplingRate,
            noiseMultiplier: effectiveNoiseMultiplier
        )
        settledRDP.compose(mechanism)
        settledPLD?.compose(mechanism)
    }

    // MARK: - Helpers

    private func entry(_ kind: LedgerEntry.Kind, round: Int, totals: (rdp: Double, pld: Double?)) -> LedgerEntry {
        var entry = LedgerEntry(
            kind: kind,
            round: round,
            delta: configuration.delta,
            budget: configuration.epsilonBudget
        )
        entry.epsilonRDP = totals.rdp
        entry.epsilonPLD = totals.pld
        return entry
    }

    private mutating func deny(
        _ proposal: RoundProposal,
        _ reason: Verdict.DenyReason,
        current: (rdp: Double, pld: Double?),
        projected: (rdp: Double, pld: Double?)? = nil
    ) -> Verdict {
        var entry = entry(.deny, round: proposal.roundID, totals: current)
        entry.mechanism = proposal.ledgerMechanism
        entry.reason = reason.rawValue
        let line = try? chain.append(entry)
        return verdict(proposal.roundID, reason, projected ?? current, isRepeat: false, line: line)
    }

    private func verdict(
        _ roundID: Int,
        _ reason: Verdict.DenyReason?,
        _ totals: (rdp: Double, pld: Double?),
        isRepeat: Bool,
        line: String?
    ) -> Verdict {
        Verdict(
            roundID: roundID,
            denyReason: reason,
            epsilonRDP: totals.rdp,
            epsilonPLD: totals.pld,
            epsilon: enforced(rdp: totals.rdp, pld: totals.pld),
            budget: configuration.epsilonBudget,
            delta: configuration.delta,
            isRepeat: isRepeat,
            ledgerLine: line
        )
    }
}
