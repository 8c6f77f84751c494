/// The privacy auditor's state machine: proposals and completion reports in, verdicts and
/// signed ledger lines out.
///
/// Why pure: the runtime owns the sockets and the file; this owns the decisions, so budget
/// exhaustion, replays, policy and restarts are tested without either. The rules:
///
/// - **Order.** Only the next round is approved: an id above every id on record (approved,
///   denied or completed), by at most `policy.maxRoundGap`. An exact repeat of a decided,
///   not completed proposal is answered with the same verdict and no new line (a
///   retransmission); a completed or denied id is never approved again.
/// - **Policy, then budget.** A well-formed proposal inside the policy is approved if the
///   projected ε stays within the budget. A round counts as spent the moment it is approved, at
///   the noise that protects one contributor if the expected cohort reports.
/// - **Facts.** A completion is accepted only for an approved round, once; its reporting count k
///   is the smallest count the report gives, clamped to the approved cohort bound, and the round's
///   cost becomes that of the noise actually present (`DPFedAvgNoise.effectiveNoiseMultiplier`),
///   which can push the total over the budget after the fact; later proposals are then denied.
/// - **Skellam.** A `skellam` round is charged on approval as if its weakest shard summed only
///   the proposal's minimum survivors; its completion must carry every shard's secure-aggregation
///   record, and is recomputed with the smallest securely counted `survivors` among them (each
///   shard's sum is released on its own, so the weakest shard's noise is what protects its
///   devices). Fewer than the minimum is recorded at that real cost and flagged.
///
/// The runtime must append and fsync each returned ledger line **before** it sends the verdict
/// or acknowledges the report: the ledger is the write-ahead log a restarted auditor replays
/// with `init(replaying:policy:signingKey:)`.
public struct PrivacyAuditor: Hashable, Sendable {
    /// What is on record about one round id.
    enum RoundRecord: Hashable, Sendable {
        /// Approved and not completed: composed at its planned cost.
        case approved(RoundProposal, Verdict)
        /// Denied on its merits (recorded): never approved afterwards.
        case denied(RoundProposal, Verdict)
        /// Completed: composed at the noise actually present; `line` is its `complete` entry.
        case completed(RoundProposal, effectiveNoiseMultiplier: Double, line: String)
    }

    /// The run's configuration, from the ledger header.
    public let configuration: AuditorConfiguration
    /// The operator's limits on a round (flags of `fedpulse auditor`, not in the ledger).
    public let policy: AuditorPolicy
    /// The per-run participation salt, from the ledger header; it never leaves the ledger file.
    public let participationSalt: String
    /// Signs every entry; its public key is in the header.
    let signingKey: LedgerSigningKey
    let hasher: ParticipationCounter
    var chain: LedgerChain
    var rounds: [Int: RoundRecord] = [:]
    /// The largest round id on record (0 before the first).
    public private(set) var lastRoundID = 0
    /// Approved rounds not yet completed, in approval order; composed at their planned cost.
    private(set) var pending: [Int] = []
    /// Completed rounds at the noise actually present.
    private(set) var settledRDP = RDPAccountant()
    private(set) var settledPLD: PLDAccountant?
    /// Whether a Skellam round is settled: the PLD accountant no longer covers the run.
    private(set) var settledSkellam = false
    /// Per-device ε against the aggregator, from local-noise rounds.
    public private(set) var localDevices = LocalDeviceAccounts()

    init(
        configuration: AuditorConfiguration,
        policy: AuditorPolicy,
        participationSalt: String,
        signingKey: LedgerSigningKey,
        chain: LedgerChain
    ) throws(LedgerError) {
        guard let hasher = ParticipationCounter(saltHex: participationSalt) else {
            throw LedgerError(code: .inconsistent, detail: "the participation salt is not 32 bytes of hex")
        }
        self.configuration = configuration
        self.policy = policy
        self.participationSalt = participationSalt
        self.signingKey = signingKey
        self.hasher = hasher
        self.chain = chain
        self.settledPLD = configuration.pldDiscretization.map { PLDAccountant(discretization: $0) }
        self.spent = EpsilonTotals(rdp: 0, pld: configuration.pldDiscretization == nil ? nil : 0)
    }

    /// Starts a new run and returns the header line to write first.
    public static func start(
        configuration: AuditorConfiguration,
        policy: AuditorPolicy = .standard,
        participationSalt: String,
        signingKey: LedgerSigningKey
    ) throws(LedgerError) -> (auditor: PrivacyAuditor, headerLine: String) {
        var auditor = try PrivacyAuditor(
            configuration: configuration,
            policy: policy,
            participationSalt: participationSalt,
            signingKey: signingKey,
            chain: LedgerChain()
        )
        var header = LedgerEntry(kind: .header, delta: configuration.delta, budget: configuration.epsilonBudget)
        header.enforcement = configuration.enforcement.rawValue
        header.pldDiscretization = configuration.pldDiscretization
        header.participationSalt = participationSalt
        header.signingPublicKey = signingKey.publicKey.hex
        header.epsilonRDP = 0
        header.epsilonPLD = configuration.pldDiscretization == nil ? nil : 0
        let line = try auditor.chain.append(header, signedWith: signingKey)
        return (auditor, line)
    }

    /// The key that verifies this auditor's ledger.
    public var publicKey: LedgerPublicKey { signingKey.publicKey }

    /// How many lines the ledger holds (the sequence number of the next entry).
    public var lineCount: Int { chain.nextSequence }

    /// The `complete` line of a round, when it is on record.
    public func completeLine(of roundID: Int) -> String? {
        if case .completed(_, _, let line) = rounds[roundID] { return line }
        return nil
    }

    // MARK: - Totals

    /// ε spent so far (approved rounds) by RDP and, when on, PLD.
    ///
    /// Kept, not recomputed: composing the pending rounds' PLD costs up to seconds, and every
    /// entry carries the running totals anyway, so a replay restores them from the last line.
    public private(set) var spent = EpsilonTotals(rdp: 0, pld: nil)

    /// The ε the budget is checked against, given both totals.
    func enforced(rdp: Double, pld: Double?) -> Double {
        switch configuration.enforcement {
        case .rdp: rdp
        case .pld: pld ?? rdp
        case .tightest: min(rdp, pld ?? rdp)
        }
    }

    /// The totals recomputed from the accountants, with `extra` composed on top.
    ///
    /// Skellam releases compose into the RDP account only; once one is in the run (settled,
    /// pending or `extra`) the PLD total is nil — the PLD accountant has no model of it — and
    /// enforcement falls back to RDP (`enforced`).
    func totals(adding extra: AccountedRelease?) -> EpsilonTotals {
        var releases = pending.compactMap { id -> AccountedRelease? in
            if case .approved(let proposal, _) = rounds[id] { return proposal.plannedRelease }
            return nil
        }
        if let extra { releases.append(extra) }
        var rdp = settledRDP
        var gaussian: [SubsampledGaussian] = []
        var hasSkellam = settledSkellam
        for release in releases {
            switch release {
            case .gaussian(let mechanism):
                rdp.compose(mechanism)
                gaussian.append(mechanism)
            case .skellam(let skellam):
                rdp.compose(skellam)
                hasSkellam = true
            }
        }
        let rdpEpsilon = rdp.epsilon(delta: configuration.delta).epsilon
        guard var pld = settledPLD, !hasSkellam else { return EpsilonTotals(rdp: rdpEpsilon, pld: nil) }
        // Group identical pending rounds so each group is one FFT power.
        var counts: [SubsampledGaussian: Int] = [:]
        var order: [SubsampledGaussian] = []
        for mechanism in gaussian {
            if counts[mechanism] == nil { order.append(mechanism) }
            counts[mechanism, default: 0] += 1
        }
        for mechanism in order { pld.compose(mechanism, count: counts[mechanism] ?? 0) }
        return EpsilonTotals(rdp: rdpEpsilon, pld: pld.epsilon(delta: configuration.delta).epsilon)
    }

    // MARK: - Transitions shared with replay

    mutating func applyApproval(_ proposal: RoundProposal, _ verdict: Verdict) {
        rounds[proposal.roundID] = .approved(proposal, verdict)
        spent = EpsilonTotals(rdp: verdict.epsilonRDP, pld: verdict.epsilonPLD)
        pending.append(proposal.roundID)
        lastRoundID = max(lastRoundID, proposal.roundID)
    }

    mutating func applyDenial(_ proposal: RoundProposal, _ verdict: Verdict) {
        rounds[proposal.roundID] = .denied(proposal, verdict)
        lastRoundID = max(lastRoundID, proposal.roundID)
    }

    /// Settles a round at the noise present; `totals` are the entry's running totals (nil:
    /// recompute them, for a completion being decided now).
    mutating func applyCompletion(
        _ proposal: RoundProposal,
        release: AccountedRelease,
        deviceKeys: Set<String>?,
        line: String,
        totals: EpsilonTotals?
    ) {
        let effective = release.effectiveNoiseMultiplier
        rounds[proposal.roundID] = .completed(proposal, effectiveNoiseMultiplier: effective, line: line)
        pending.removeAll { $0 == proposal.roundID }
        lastRoundID = max(lastRoundID, proposal.roundID)
        switch release {
        case .gaussian(let mechanism):
            settledRDP.compose(mechanism)
            settledPLD?.compose(mechanism)
        case .skellam(let skellam):
            settledRDP.compose(skellam)
            settledSkellam = true
        }
        if proposal.placement == .local {
            localDevices.record(noiseMultiplier: proposal.noiseMultiplier, deviceKeys: deviceKeys)
        }
        spent = totals ?? self.totals(adding: nil)
    }

    // MARK: - Helpers

    func entry(_ kind: LedgerEntry.Kind, round: Int, totals: EpsilonTotals) -> LedgerEntry {
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

    func verdict(
        _ roundID: Int,
        _ reason: Verdict.DenyReason?,
        detail: String?,
        _ totals: EpsilonTotals,
        isRepeat: Bool = false,
        line: String? = nil
    ) -> Verdict {
        Verdict(
            roundID: roundID,
            denyReason: reason,
            detail: detail,
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

/// Cumulative ε by both accountants.
public struct EpsilonTotals: Hashable, Sendable {
    /// By Rényi DP (always on).
    public var rdp: Double
    /// By privacy-loss distributions; nil when the PLD accountant is off.
    public var pld: Double?

    public init(rdp: Double, pld: Double?) {
        self.rdp = rdp
        self.pld = pld
    }
}
