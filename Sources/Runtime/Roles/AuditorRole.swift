import Foundation
public import Logging
import Metrics
public import Privacy
import Rounds
import Wire
import ZeroMQ

/// Settings of the privacy auditor.
public struct AuditorConfig: Sendable {
    /// Where the PULL socket for proposals, completions and audit events binds.
    public var eventsEndpoint = "tcp://127.0.0.1:7300"
    /// CURVE on every socket with the enrolment allowlist, or none (`TransportSecurity.insecure`).
    public var security: TransportSecurity = .insecure
    /// Where the PUB socket for verdicts and ledger lines binds.
    public var ledgerEndpoint = "tcp://127.0.0.1:7301"
    public var ledgerPath: String
    public var epsilonBudget: Double
    public var delta: Double
    public var enforcement: AuditorConfiguration.Enforcement = .tightest
    /// The PLD accountant's grid step: smaller is tighter and slower (it stays an upper bound).
    public var pldDiscretization: Double? = 1e-4
    /// The only sender whose proposals and completions count.
    public var coordinatorID = "coordinator"
    /// What a round may be at all, whatever the budget.
    public var policy = AuditorPolicy.standard
    /// The Ed25519 key file (created, mode 0600, when missing); nil: `<ledgerPath>.key`.
    public var signingKeyPath: String?

    public init(ledgerPath: String, epsilonBudget: Double, delta: Double) {
        self.ledgerPath = ledgerPath
        self.epsilonBudget = epsilonBudget
        self.delta = delta
    }

    /// The key file actually used.
    public var resolvedSigningKeyPath: String { signingKeyPath ?? ledgerPath + ".key" }
}

/// The privacy auditor's shell: lock the ledger, load the key, rebuild or start the state
/// machine, then feed it what arrives and perform what it asks — every ledger line appended and
/// fsynced before anyone hears of it.
///
/// A ledger write that fails ends the role (fail closed): the decision it belonged to was never
/// published, and a restarted auditor rebuilds from what the file holds.
public final class AuditorRole: Sendable {
    enum SocketName: Hashable, Sendable { case events, ledger }

    let config: AuditorConfig
    let logger: Logger

    public init(config: AuditorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        let file = try LedgerFile(path: config.ledgerPath)
        let keyPath = config.resolvedSigningKeyPath
        let (key, created, warning) = try SigningKeyFile.loadOrCreate(path: keyPath)
        if created {
            logger.notice(
                "auditor signing key created",
                metadata: ["key.path": "\(keyPath)", "key.public": "\(key.publicKey)"]
            )
        }
        if let warning { logger.warning("\(warning)") }
        var round = AuditorRound(
            auditor: try restoreOrStart(file, key: key, keyCreated: created),
            coordinatorID: config.coordinatorID
        )

        let context = try Context()
        try config.security.start(context: context, logger: logger)
        defer { config.security.stop() }
        let messenger = Messenger(role: "auditor", sender: "auditor", logger: logger)
        let events = try Socket(context, type: .pull)
        try events.setLinger(0)
        try events.setMaxMessageSize(1 << 20)
        try config.security.secureServer(events)
        try events.bind(config.eventsEndpoint)
        let ledger = try Socket(context, type: .pub)
        try ledger.setLinger(1_000)
        try config.security.secureServer(ledger)
        try ledger.bind(config.ledgerEndpoint)
        let loop = RoleLoop<SocketName>(control: control, messenger: messenger, security: config.security)
        loop.add(.events, events)
        loop.add(.ledger, ledger, polled: false)
        let spent = round.auditor.spent
        logger.info(
            "auditor ready",
            metadata: [
                "ledger.path": "\(config.ledgerPath)", "privacy.budget": "\(config.epsilonBudget)",
                "privacy.delta": "\(config.delta)", "privacy.spent": "\(spent.rdp)", "key.public": "\(key.publicKey)",
                "auditor.coordinator": "\(config.coordinatorID)",
            ]
        )
        let performer = AuditorActions(loop: loop, file: file, logger: logger)
        performer.record(spent)
        try loop.run(
            nextTimer: { Clock.nowMillis() + 1_000 },
            received: { _, incoming in
                guard case .success(let message)? = incoming.message, let identity = incoming.identity else { return }
                performer.perform(round.messageReceived(message, from: identity))
            },
            timer: { _ in },
            isFinished: { performer.ledgerFailure != nil }
        )
        if let failure = performer.ledgerFailure {
            throw RoleError(
                "auditor stopped: the ledger \(config.ledgerPath) could not be written (\(failure)); nothing unwritten was published"
            )
        }
        logger.info("auditor stopping", metadata: ["privacy.spent": "\(round.auditor.spent.rdp)"])
    }

    /// A restarted auditor rebuilds from its ledger, and refuses a ledger whose chain or
    /// signatures do not verify with its key.
    private func restoreOrStart(_ file: LedgerFile, key: LedgerSigningKey, keyCreated: Bool) throws -> PrivacyAuditor {
        let lines = file.existingLines
        if !lines.isEmpty {
            do {
                let state = try PrivacyAuditor(replaying: lines, policy: config.policy, signingKey: key)
                logger.info(
                    "auditor restored from ledger",
                    metadata: ["ledger.entries": "\(lines.count)", "privacy.spent": "\(state.spent.rdp)"]
                )
                return state
            } catch {
                let hint =
                    keyCreated
                    ? " (the key was just created: give the auditor the --signing-key that signed this ledger)" : ""
                throw RoleError(
                    "refusing to start: the ledger \(config.ledgerPath) does not verify with the key \(config.resolvedSigningKeyPath) (\(error))\(hint); keep it for investigation and start a new run with another --ledger-file"
                )
            }
        }
        var generator = SystemRandomNumberGenerator()
        let (state, header) = try PrivacyAuditor.start(
            configuration: AuditorConfiguration(
                epsilonBudget: config.epsilonBudget,
                delta: config.delta,
                enforcement: config.enforcement,
                pldDiscretization: config.pldDiscretization
            ),
            policy: config.policy,
            participationSalt: ParticipationCounter.makeSalt(using: &generator),
            signingKey: key
        )
        // The header holds the participation salt: it goes to the file only, never to the PUB.
        try file.append(header)
        return state
    }
}

/// Performs the auditor's actions on the loop's sockets, the ledger file, the logs and metrics.
final class AuditorActions {
    private let loop: RoleLoop<AuditorRole.SocketName>
    private let file: LedgerFile
    private let logger: Logger
    private let epsilonRDP = Gauge(label: "fedpulse_privacy_epsilon", dimensions: [("accountant", "rdp")])
    private let epsilonPLD = Gauge(label: "fedpulse_privacy_epsilon", dimensions: [("accountant", "pld")])
    /// Set when an append failed; the loop then ends.
    private(set) var ledgerFailure: (any Error)?

    init(loop: RoleLoop<AuditorRole.SocketName>, file: LedgerFile, logger: Logger) {
        self.loop = loop
        self.file = file
        self.logger = logger
    }

    func record(_ totals: EpsilonTotals) {
        epsilonRDP.record(totals.rdp)
        if let pld = totals.pld { epsilonPLD.record(pld) }
    }

    /// In order; nothing after a failed append is performed.
    func perform(_ actions: [AuditorAction]) {
        for action in actions {
            switch action {
            case .appendToLedger(let line):
                do {
                    try file.append(line)
                } catch {
                    ledgerFailure = error
                    logger.critical(
                        "ledger append failed; stopping",
                        metadata: ["ledger.path": "\(file.path)", "error": "\(error)"]
                    )
                    return
                }
            case .publishEntry(let entry):
                loop.send(entry, on: .ledger)
            case .publishVerdict(let verdict):
                loop.send(verdict, on: .ledger)
                log(verdict)
            case .spent(let totals):
                record(totals)
            case .reject(let reason, let sender, let roundId, let detail):
                loop.messenger.reject(reason, detail: detail, sender: sender, roundId: roundId)
            case .countAuditEvent(let kind):
                Counter(label: "fedpulse_audit_events_total", dimensions: [("kind", kind.rawValue)]).increment()
            case .fault(let roundId, let detail):
                logger.error(
                    "auditor could not record",
                    metadata: ["round.id": "\(roundId)", "auditor.detail": "\(detail)"]
                )
            case .flag(let roundId, let detail):
                Counter(label: "fedpulse_auditor_flagged_total").increment()
                logger.warning(
                    "round recorded and flagged",
                    metadata: ["round.id": "\(roundId)", "auditor.detail": "\(detail)"]
                )
            }
        }
    }

    private func log(_ verdict: RoundVerdict) {
        var metadata: Logger.Metadata = ["round.id": "\(verdict.roundId)", "privacy.epsilon": "\(verdict.epsilon)"]
        if let reason = verdict.denyReason {
            Counter(label: "fedpulse_auditor_denied_total", dimensions: [("reason", reason.rawValue)]).increment()
            metadata["deny.reason"] = "\(reason.rawValue)"
            metadata["deny.detail"] = "\(verdict.detail ?? "-")"
            logger.notice("round denied", metadata: metadata)
        } else {
            logger.info("round approved", metadata: metadata)
        }
    }
}
