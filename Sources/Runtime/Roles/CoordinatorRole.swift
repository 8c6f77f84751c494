import Foundation
import Learning
public import Logging
import Metrics
import Privacy
import Rounds
import Wire
import ZeroMQ

/// The coordinator's shell: binds its sockets, loads the checkpoint, and runs
/// ``Rounds/CoordinatorRound`` on the shared ``RoleLoop``, performing what it asks.
///
/// Every decision (who may send what, when a round opens, what a candidate must be) is in the
/// state machine; here are only sockets, the checkpoint file, the clock, logs and metrics.
public final class CoordinatorRole: Sendable {
    let config: CoordinatorConfig
    let logger: Logger

    public init(config: CoordinatorConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    enum SocketName: Hashable, Sendable {
        case broadcast, control, auditorEvents, auditorLedger
    }

    public func run(_ control: LoopControl) throws {
        if let problem = config.misconfiguration { throw RoleError(problem) }
        let progress = try initialProgress()
        let context = try Context()
        try config.security.start(context: context, logger: logger)
        defer { config.security.stop() }
        let messenger = Messenger(role: "coordinator", sender: config.id, logger: logger)
        let loop = RoleLoop<SocketName>(control: control, messenger: messenger, security: config.security)
        let broadcast = try Socket(context, type: .pub)
        try broadcast.setLinger(1_000)
        try broadcast.setSendHighWaterMark(10_000)
        try config.security.secureServer(broadcast)
        try broadcast.bind(config.broadcastEndpoint)
        loop.add(.broadcast, broadcast, polled: false)
        let controlSocket = try Socket(context, type: .pull)
        try controlSocket.setLinger(0)
        try controlSocket.setBacklog(2_048)
        try controlSocket.setMaxMessageSize(Int64(WireLimits.default.maxTotalBytes))
        try config.security.secureServer(controlSocket)
        try controlSocket.bind(config.controlEndpoint)
        loop.add(.control, controlSocket)
        if let events = config.auditorEvents, let ledger = config.auditorLedger {
            let pusher = try Socket(context, type: .push)
            try pusher.setLinger(2_000)
            try config.security.secureClient(pusher, of: "auditor")
            try pusher.connect(events)
            loop.add(.auditorEvents, pusher, polled: false)
            let subscriber = try Socket(context, type: .sub)
            try subscriber.setLinger(0)
            try subscriber.subscribe(Topic.roundVerdict.rawValue)
            try subscriber.subscribe(Topic.ledgerEntry.rawValue)
            try config.security.secureClient(subscriber, of: "auditor")
            try subscriber.connect(ledger)
            loop.add(.auditorLedger, subscriber)
        }

        var round = CoordinatorRound(settings: config.roundSettings, progress: progress, digest: Digest.sha256Hex)
        let effects = CoordinatorEffects(loop: loop, stateDirectory: config.stateDirectory, logger: logger)
        logger.info(
            "coordinator ready",
            metadata: [
                "endpoint.broadcast": "\(config.broadcastEndpoint)", "endpoint.control": "\(config.controlEndpoint)",
                "round.next": "\(progress.completedRounds + 1)", "model.version": "\(progress.modelVersion)",
            ]
        )
        var nextPopulationRecord: Int64 = 0
        try loop.run(
            nextTimer: { round.nextTimer(now: Clock.nowMillis()) },
            received: { name, incoming in
                guard case .success(let message)? = incoming.message, let identity = incoming.identity else { return }
                let now = Clock.nowMillis()
                switch (name, message) {
                case (.control, _): effects.perform(round.controlReceived(message, from: identity, now: now))
                case (.auditorLedger, .roundVerdict(let verdict)):
                    effects.perform(round.verdictReceived(verdict.body, now: now))
                case (.auditorLedger, .ledgerEntry(let entry)): effects.perform(round.ledgerEntryReceived(entry.body))
                default: break
                }
            },
            timer: { now in
                effects.perform(round.timerFired(now: now))
                if now >= nextPopulationRecord {
                    nextPopulationRecord = now + 1_000
                    effects.recordPopulation(round.workers)
                }
            },
            isFinished: { round.isFinished }
        )
        effects.perform(round.stopRequested())
    }

    /// The checkpoint in the state directory, or a fresh run with a random participation salt.
    private func initialProgress() throws -> CoordinatorProgress {
        if let directory = config.stateDirectory, let saved = try CoordinatorCheckpoint.load(from: directory) {
            guard saved.spec.hasSameShape(as: config.spec) else {
                throw RoleError("the checkpoint in \(directory) is for another model spec; use a new --state-dir")
            }
            logger.info(
                "resumed from checkpoint",
                metadata: ["round.completed": "\(saved.completedRounds)", "model.version": "\(saved.modelVersion)"]
            )
            return saved
        }
        var generator = SystemRandomNumberGenerator()
        return CoordinatorProgress(
            spec: config.spec,
            seed: config.seed,
            participationSalt: ParticipationCounter.makeSalt(using: &generator)
        )
    }
}

/// Performs the coordinator's actions: sockets through the loop (failures counted there), the
/// checkpoint file, logs and metrics.
struct CoordinatorEffects {
    let loop: RoleLoop<CoordinatorRole.SocketName>
    let stateDirectory: String?
    let logger: Logger
    private let roundsCounter = Counter(label: "fedpulse_rounds_total", dimensions: [("role", "coordinator")])
    /// The released model's accuracy on the coordinator's hold-out (the dashboard's accuracy panel).
    private let holdoutAccuracy = Gauge(label: "fedpulse_holdout_accuracy", dimensions: [("role", "coordinator")])
    /// Eligible checked-in workers per class, against which participants are read; refreshed once a second.
    private let eligibleGauges = Dictionary(
        uniqueKeysWithValues: DeviceClassName.allCases.map {
            ($0, Gauge(label: "fedpulse_eligible_workers", dimensions: [("role", "coordinator"), ("region", $0.rawValue)]))
        }
    )

    private let participantsGauge = Gauge(label: "fedpulse_round_participants", dimensions: [("role", "coordinator")])
    private let roundTimer = Metrics.Timer(
        label: "fedpulse_round_duration_seconds",
        dimensions: [("role", "coordinator")]
    )

    init(loop: RoleLoop<CoordinatorRole.SocketName>, stateDirectory: String?, logger: Logger) {
        self.loop = loop
        self.stateDirectory = stateDirectory
        self.logger = logger
    }

    /// Publishes the eligible population per class (the caller calls it about once a second:
    /// the registry can be large).
    func recordPopulation(_ workers: WorkerRegistry) {
        var counts: [DeviceClassName: Int] = [:]
        for worker in workers.workers.values where worker.eligible { counts[worker.deviceClass, default: 0] += 1 }
        for (deviceClass, gauge) in eligibleGauges { gauge.record(counts[deviceClass] ?? 0) }
    }

    func perform(_ actions: [CoordinatorAction]) {
        for action in actions { perform(action) }
    }

    func perform(_ action: CoordinatorAction) {
        switch action {
        case .broadcast(_, let frames):
            loop.send(frames: frames, on: .broadcast)
        case .publishSummary(let summary):
            roundsCounter.increment()
            participantsGauge.record(summary.contributors)
            if let accuracy = summary.accuracy { holdoutAccuracy.record(accuracy) }
            roundTimer.recordNanoseconds(Int64(summary.seconds * 1e9))
            loop.send(summary, on: .broadcast)
        case .announceEnd(let end):
            // PUB drops messages for subscribers still connecting: say it a few times.
            for attempt in 0..<5 {
                loop.send(end, on: .broadcast)
                if attempt < 4 {
                    var nothing: [PollItem] = []
                    _ = try? poll(&nothing, timeout: .milliseconds(100))
                }
            }
        case .sendProposal(let proposal):
            loop.send(proposal, on: .auditorEvents, dontWait: true)
        case .sendCompletion(let completed):
            loop.send(completed, on: .auditorEvents, dontWait: true)
        case .persist(let progress):
            guard let stateDirectory else { return }
            do {
                try CoordinatorCheckpoint.save(progress, to: stateDirectory)
            } catch {
                loop.failed("persist", "checkpoint in \(stateDirectory): \(error)", level: .error)
            }
        case .reject(let reason, let sender, let roundId, let detail):
            loop.messenger.reject(reason, detail: detail, sender: sender, roundId: roundId)
        case .encodeFailed(let topic, let detail):
            loop.failed("encode", "\(topic.rawValue): \(detail)")
        case .log(let line):
            logger.log(level: line.level.logLevel, "\(line.message)", metadata: line.metadata.mapValues { .string($0) })
        }
    }
}

extension CoordinatorLogLine.Level {
    var logLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        }
    }
}
