public import Privacy
public import Wire

/// What the auditor's shell does, in the order given.
public enum AuditorAction: Equatable, Sendable {
    /// Append the line to the ledger file and fsync it. If that fails, perform nothing after it:
    /// no one may hear of a decision the ledger does not hold (the shell then stops, and a restart
    /// rebuilds from the file).
    case appendToLedger(line: String)
    /// Publish a ledger line on the PUB (`ledger.entry`), for `fedpulse audit tail`.
    case publishEntry(LedgerEntryMessage)
    /// Publish a verdict on the PUB (`round.verdict`).
    case publishVerdict(RoundVerdict)
    /// The running totals changed (gauges).
    case spent(EpsilonTotals)
    /// Count (`fedpulse_rejected_total{role,reason}`) and log a refused message.
    case reject(RejectReason, sender: String, roundId: Int?, detail: String)
    /// Count one `audit.event` under its closed kind (`fedpulse_audit_events_total{kind}`).
    case countAuditEvent(AuditEvent.Kind)
    /// Something the auditor could not do (an entry that would not encode): log it as an error.
    case fault(roundId: Int, detail: String)
    /// A completion recorded at its real cost but wrong (a `skellam` shard that released a sum
    /// below the minimum survivors): log it as a warning and count it
    /// (`fedpulse_auditor_flagged_total`).
    case flag(roundId: Int, detail: String)
}

/// The privacy auditor's decisions over Wire messages: who may speak, then `PrivacyAuditor`'s
/// rules, then what to write and publish.
///
/// Why two layers: `PrivacyAuditor` (in `Privacy`) holds the accounting, the policy and the
/// signed chain, and rebuilds itself from the ledger; this layer turns decoded messages and their
/// sender's ``PeerIdentity`` into its events and its answers into actions, so every attack is a
/// plain-value test. The auditor has no deadlines, hence no timer event.
///
/// Who may speak: `round.proposal` and `round.completed` only from `coordinatorID` (compared with
/// `identity.name`, which transport authentication will make unforgeable); anyone else is
/// rejected as `unauthorizedSender` with no verdict, no line and nothing spent. Any role may send
/// `audit.event`.
public struct AuditorRound: Sendable {
    public private(set) var auditor: PrivacyAuditor
    /// The one sender whose proposals and completions count.
    public let coordinatorID: String

    public init(auditor: PrivacyAuditor, coordinatorID: String) {
        self.auditor = auditor
        self.coordinatorID = coordinatorID
    }

    // MARK: Events

    /// Any message that arrived on the events socket.
    public mutating func messageReceived(_ message: AnyMessage, from identity: PeerIdentity) -> [AuditorAction] {
        switch message {
        case .roundProposal(let proposal): return proposalReceived(proposal, from: identity)
        case .roundCompleted(let completed): return completionReceived(completed, from: identity)
        case .auditEvent(let event): return [.countAuditEvent(event.body.knownKind)]
        default:
            return [
                .reject(
                    .topicMismatch,
                    sender: identity.name,
                    roundId: nil,
                    detail: "\(message.topic) does not belong on the auditor's events socket"
                )
            ]
        }
    }

    /// A `round.proposal`: approve, deny, or refuse the sender.
    public mutating func proposalReceived(
        _ message: Message<Wire.RoundProposal>,
        from identity: PeerIdentity
    ) -> [AuditorAction] {
        let body = message.body
        if let refusal = unauthorized(identity, topic: message.topic, roundId: body.roundId) { return [refusal] }
        let verdict = auditor.proposalReceived(Self.proposal(body))
        var actions: [AuditorAction] = []
        if let line = verdict.ledgerLine { actions += record(line) }
        actions.append(.publishVerdict(verdictBody(verdict)))
        if verdict.isApproved && !verdict.isRepeat { actions.append(.spent(auditor.spent)) }
        return actions
    }

    /// A `round.completed`: record it once, publish its line again on a repeat, or refuse it.
    public mutating func completionReceived(
        _ message: Message<RoundCompleted>,
        from identity: PeerIdentity
    ) -> [AuditorAction] {
        let body = message.body
        if let refusal = unauthorized(identity, topic: message.topic, roundId: body.roundId) { return [refusal] }
        let report = RoundReport(
            roundID: body.roundId,
            participantsByClass: body.participants.counts,
            rejectedByReason: body.rejected,
            modelHash: body.modelDigest,
            clippedUpdates: body.clippedCount,
            contributorIDs: body.contributorIds,
            secureAggregation: body.secureAggregation?.map(SecAggShardRecord.init)
        )
        switch auditor.roundCompleted(report) {
        case .record(let line, _, _, _, let flag):
            return record(line) + [.spent(auditor.spent)]
                + (flag.map { [.flag(roundId: body.roundId, detail: $0)] } ?? [])
        case .alreadyRecorded(let line):
            // The coordinator re-sends until it sees this line; it may have missed it on the PUB.
            return entry(line).map { [.publishEntry($0)] } ?? []
        case .reject(.notApproved, let detail):
            return [.reject(.staleRound, sender: identity.name, roundId: body.roundId, detail: detail)]
        case .reject(.tooManyContributors, let detail):
            return [.reject(.overflow, sender: identity.name, roundId: body.roundId, detail: detail)]
        case .reject(.missingSecureAggregation, let detail), .reject(.inconsistentSecureAggregation, let detail):
            // The round stays charged at its approval's (minimum-survivor) cost until a
            // completion with believable records arrives.
            return [.reject(.malformedHeader, sender: identity.name, roundId: body.roundId, detail: detail)]
        case .reject(.ledgerFailure, let detail):
            return [.fault(roundId: body.roundId, detail: detail)]
        }
    }

    // MARK: Helpers

    private func unauthorized(_ identity: PeerIdentity, topic: Topic, roundId: Int) -> AuditorAction? {
        if identity.name == coordinatorID && identity.isConsistent { return nil }
        return .reject(
            .unauthorizedSender,
            sender: identity.description,
            roundId: roundId,
            detail: "only \(coordinatorID) may send \(topic.rawValue)"
        )
    }

    /// Append, then publish: the order the shell must keep.
    private func record(_ line: String) -> [AuditorAction] {
        [.appendToLedger(line: line)] + (entry(line).map { [.publishEntry($0)] } ?? [])
    }

    private func entry(_ line: String) -> LedgerEntryMessage? {
        (try? LedgerChain.decode(line)).map { LedgerEntryMessage(sequence: $0.sequence, line: line) }
    }

    /// The Wire proposal as the auditor's: the cohort bound is the listed cohort's size, or the
    /// population when devices sample themselves (`selected` is then empty).
    static func proposal(_ body: Wire.RoundProposal) -> Privacy.RoundProposal {
        Privacy.RoundProposal(
            roundID: body.roundId,
            samplingRate: body.samplingRate,
            noiseMultiplier: body.noiseMultiplier,
            clipNorm: body.clipNorm,
            placement: Privacy.NoisePlacement(body.placement),
            expectedCohort: Double(body.expectedCohort),
            cohortBound: body.selected.isEmpty ? body.population : body.selected.count,
            skellam: body.skellam.map(SkellamProposal.init)
        )
    }

    /// The verdict as published: the enforced ε (finite on the wire) and the accountant that gave it.
    func verdictBody(_ verdict: Verdict) -> RoundVerdict {
        let enforcement = auditor.configuration.enforcement
        let usesPLD =
            enforcement == .pld
            || (enforcement == .tightest && (verdict.epsilonPLD.map { $0 <= verdict.epsilonRDP } ?? false))
        return RoundVerdict(
            roundId: verdict.roundID,
            epsilon: verdict.epsilon.isFinite ? verdict.epsilon : .greatestFiniteMagnitude,
            delta: verdict.delta,
            epsilonBudget: verdict.budget,
            accountant: usesPLD ? .pld : .rdp,
            denied: verdict.denyReason.map(RoundVerdict.DenyReason.init),
            detail: verdict.detail.map { String($0.prefix(1024)) }
        )
    }
}
