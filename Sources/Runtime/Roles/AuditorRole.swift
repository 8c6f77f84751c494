import Foundation
public import Logging
import Metrics
public import Privacy
import Wire
import ZeroMQ

/// Settings of the privacy auditor.
public struct AuditorConfig: Sendable {
    /// Where the PULL socket for proposals, completions and audit events binds.
    public var eventsEndpoint = "tcp://127.0.0.1:7300"
    /// Where the PUB socket for verdicts and ledger lines binds.
    public var ledgerEndpoint = "tcp://127.0.0.1:7301"
    public var ledgerPath: String
    public var epsilonBudget: Double
    public var delta: Double
    public var enforcement: AuditorConfiguration.Enforcement = .tightest
    /// The PLD accountant's grid step: smaller is tighter and slower (it stays an upper bound).
    public var pldDiscretization: Double? = 1e-4

    public init(ledgerPath: String, epsilonBudget: Double, delta: Double) {
        self.ledgerPath = ledgerPath
        self.epsilonBudget = epsilonBudget
        self.delta = delta
    }
}

/// The privacy auditor: approves or denies each proposed round against the budget, accounts
/// ε(δ) live, and keeps the hash-chained ledger — each line fsynced before anyone hears of it.
public final class AuditorRole: Sendable {
    let config: AuditorConfig
    let logger: Logger

    public init(config: AuditorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        let existing = try LedgerFile.existingLines(at: config.ledgerPath)
        var auditor = try restoreOrStart(from: existing)
        let file = try LedgerFile(path: config.ledgerPath)
        if let header = auditor.headerLine { try file.append(header) }
        let context = try Context()
        let messenger = Messenger(role: "auditor", sender: "auditor", logger: logger)
        let events = try Socket(context, type: .pull)
        try events.setLinger(0)
        try events.setMaxMessageSize(1 << 20)
        try events.bind(config.eventsEndpoint)
        let ledger = try Socket(context, type: .pub)
        try ledger.setLinger(1_000)
        try ledger.bind(config.ledgerEndpoint)
        var sequence = auditor.lineCount
        // A coordinator re-sends a proposal until it hears back; answer repeats from here
        // instead of recomputing the accountants (the PLD step costs up to seconds).
        var answered: [Int: (proposal: Wire.RoundProposal, verdict: RoundVerdict)] = [:]
        // The coordinator re-sends a completion until it sees its `complete` line; a repeat gets
        // that line again (it may have missed it on the PUB socket).
        var completeLines = Self.completeLines(existing)
        let epsilonGauge = Gauge(label: "fedpulse_privacy_epsilon", dimensions: [("accountant", "rdp")])
        logger.info(
            "auditor ready",
            metadata: [
                "ledger.path": "\(config.ledgerPath)", "privacy.budget": "\(config.epsilonBudget)",
                "privacy.delta": "\(config.delta)", "privacy.spent": "\(auditor.state.spent.rdp)",
            ]
        )

        func publish(_ line: String) throws {
            try file.append(line)
            try messenger.send(LedgerEntryMessage(sequence: sequence, line: line), on: ledger)
            sequence += 1
        }

        while !control.shouldStop {
            var items = [control.wakeup.pollItem(), events.pollItem()]
            try poll(&items, timeout: .milliseconds(1_000))
            if items[0].isReadable { control.wakeup.drain() }
            while let received = try messenger.receive(from: events) {
                switch received {
                case .success(.roundProposal(let message)):
                    if let previous = answered[message.body.roundId], previous.proposal == message.body {
                        try messenger.send(previous.verdict, on: ledger)
                        continue
                    }
                    let verdict = auditor.state.proposalReceived(Self.proposal(message.body), selected: message.body.selected)
                    if let line = verdict.ledgerLine { try publish(line) }
                    let body = Self.verdictBody(verdict, enforcement: config.enforcement)
                    answered[message.body.roundId] = (message.body, body)
                    try messenger.send(body, on: ledger)
                    epsilonGauge.record(auditor.state.spent.rdp)
                    logger.info(
                        body.approved ? "round approved" : "round denied",
                        metadata: [
                            "round.id": "\(body.roundId)", "privacy.epsilon": "\(body.epsilon)",
                            "deny.reason": "\(body.reason ?? "-")", "round.repeat": "\(verdict.isRepeat)",
                        ]
                    )
                case .success(.roundCompleted(let message)):
                    let completed = message.body
                    let report = RoundReport(
                        roundID: completed.roundId, participantsByClass: completed.participants.counts,
                        rejectedByReason: completed.rejected, modelHash: completed.modelDigest,
                        clippedUpdates: completed.clippedCount
                    )
                    switch auditor.state.roundCompleted(report) {
                    case .record(let line, _, _, _):
                        completeLines[completed.roundId] = line
                        try publish(line)
                    case .reject(.duplicate):
                        if let line = completeLines[completed.roundId], let entry = try? LedgerChain.decode(line) {
                            try messenger.send(LedgerEntryMessage(sequence: entry.sequence, line: line), on: ledger)
                        }
                    case .reject(let reason):
                        logger.warning("round completion not recorded", metadata: ["round.id": "\(completed.roundId)", "reject.reason": "\(reason.rawValue)"])
                    }
                case .success(.auditEvent(let message)):
                    Counter(label: "fedpulse_audit_events_total", dimensions: [("kind", message.body.kind)]).increment()
                case .success(let other):
                    messenger.reject(.topicMismatch, detail: "\(other.topic) does not belong on the events socket", sender: other.sender)
                case .failure:
                    continue
                }
            }
        }
        logger.info("auditor stopping", metadata: ["privacy.spent": "\(auditor.state.spent.rdp)"])
    }

    /// A restarted auditor rebuilds from its ledger, and refuses a ledger whose chain is broken.
    private func restoreOrStart(from lines: [String]) throws -> (state: PrivacyAuditor, headerLine: String?, lineCount: Int) {
        if !lines.isEmpty {
            do {
                let state = try PrivacyAuditor(replaying: lines)
                logger.info("auditor restored from ledger", metadata: ["ledger.entries": "\(lines.count)", "privacy.spent": "\(state.spent.rdp)"])
                return (state, nil, lines.count)
            } catch {
                throw RoleError("refusing to start: the ledger \(config.ledgerPath) does not verify (\(error)); keep it for investigation and start a new run with another --ledger-file")
            }
        }
        var generator = SystemRandomNumberGenerator()
        let (state, header) = try PrivacyAuditor.start(
            configuration: AuditorConfiguration(
                epsilonBudget: config.epsilonBudget, delta: config.delta, enforcement: config.enforcement,
                pldDiscretization: config.pldDiscretization
            ),
            participationSalt: ParticipationCounter.makeSalt(using: &generator)
        )
        return (state, header, 0)
    }

    static func completeLines(_ lines: [String]) -> [Int: String] {
        var result: [Int: String] = [:]
        for line in lines {
            if let entry = try? LedgerChain.decode(line), entry.kind == .complete, let round = entry.round { result[round] = line }
        }
        return result
    }

    static func proposal(_ body: Wire.RoundProposal) -> Privacy.RoundProposal {
        Privacy.RoundProposal(
            roundID: body.roundId, samplingRate: body.samplingRate, noiseMultiplier: body.noiseMultiplier,
            clipNorm: body.clipNorm, placement: Privacy.NoisePlacement(rawValue: body.placement.rawValue) ?? .off,
            expectedCohort: Double(body.expectedCohort)
        )
    }

    static func verdictBody(_ verdict: Verdict, enforcement: AuditorConfiguration.Enforcement) -> RoundVerdict {
        let usesPLD = enforcement == .pld || (enforcement == .tightest && (verdict.epsilonPLD.map { $0 <= verdict.epsilonRDP } ?? false))
        return RoundVerdict(
            roundId: verdict.roundID, approved: verdict.isApproved,
            epsilon: verdict.epsilon.isFinite ? verdict.epsilon : .greatestFiniteMagnitude, delta: verdict.delta,
            epsilonBudget: verdict.budget, accountant: usesPLD ? .pld : .rdp, reason: verdict.denyReason?.rawValue
        )
    }
}
