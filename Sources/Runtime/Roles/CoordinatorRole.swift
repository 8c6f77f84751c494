import Federation
import Foundation
import Learning
public import Logging
import Metrics
import Wire
import ZeroMQ

/// The coordinator: checks workers in, learns the topology from aggregator heartbeats, opens each
/// round (after the auditor approves it, when one is configured), takes the new model, evaluates
/// and checkpoints it, and ends the run.
public final class CoordinatorRole: Sendable {
    let config: CoordinatorConfig
    let logger: Logger

    public init(config: CoordinatorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        let context = try Context()
        let messenger = Messenger(role: "coordinator", sender: config.id, logger: logger)
        let broadcast = try Socket(context, type: .pub)
        try broadcast.setLinger(1_000)
        try broadcast.setSendHighWaterMark(10_000)
        try broadcast.bind(config.broadcastEndpoint)
        let controlSocket = try Socket(context, type: .pull)
        try controlSocket.setLinger(0)
        try controlSocket.setBacklog(2_048)
        try controlSocket.setMaxMessageSize(Int64(WireLimits.default.maxTotalBytes))
        try controlSocket.bind(config.controlEndpoint)
        let auditor = try AuditorLink(context: context, events: config.auditorEvents, ledger: config.auditorLedger)

        var state = try CoordinatorState(config: config, logger: logger)
        logger.info(
            "coordinator ready",
            metadata: [
                "endpoint.broadcast": "\(config.broadcastEndpoint)", "endpoint.control": "\(config.controlEndpoint)",
                "round.next": "\(state.checkpoint.completedRounds + 1)", "model.version": "\(state.checkpoint.modelVersion)",
            ]
        )

        while !control.shouldStop && !state.isFinished {
            var items = [control.wakeup.pollItem(), controlSocket.pollItem(), auditor.ledger.pollItem()]
            try poll(&items, timeout: .milliseconds(state.millisUntilNextTimer(now: Clock.nowMillis())))
            if items[0].isReadable { control.wakeup.drain() }
            while let received = try messenger.receive(from: controlSocket) {
                guard case .success(let message) = received else { continue }
                try state.handleControl(message, messenger: messenger, broadcast: broadcast, auditor: auditor)
            }
            while let received = try messenger.receive(from: auditor.ledger) {
                switch received {
                case .success(.roundVerdict(let verdict)): try state.verdictReceived(verdict.body, messenger: messenger, broadcast: broadcast)
                case .success(.ledgerEntry(let entry)): try state.ledgerEntryReceived(entry.body)
                default: continue
                }
            }
            try state.timersFired(now: Clock.nowMillis(), messenger: messenger, broadcast: broadcast, auditor: auditor)
        }
        try state.endRun(messenger: messenger, broadcast: broadcast, reason: control.shouldStop ? "stopped" : state.endReason)
    }
}

/// The coordinator's sockets toward the privacy auditor; unconnected when none is configured.
struct AuditorLink: ~Copyable {
    let events: Socket
    let ledger: Socket
    let isConfigured: Bool

    init(context: Context, events eventsEndpoint: String?, ledger ledgerEndpoint: String?) throws {
        let pusher = try Socket(context, type: .push)
        try pusher.setLinger(2_000)
        let subscriber = try Socket(context, type: .sub)
        try subscriber.setLinger(0)
        try subscriber.subscribe(Topic.roundVerdict.rawValue)
        try subscriber.subscribe(Topic.ledgerEntry.rawValue)
        if let eventsEndpoint, let ledgerEndpoint {
            try pusher.connect(eventsEndpoint)
            try subscriber.connect(ledgerEndpoint)
        }
        isConfigured = eventsEndpoint != nil && ledgerEndpoint != nil
        events = pusher
        ledger = subscriber
    }
}
