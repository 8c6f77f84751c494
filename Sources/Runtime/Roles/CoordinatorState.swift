import Federation
import Foundation
import Learning
import Logging
import Metrics
import Privacy
import Wire
import ZeroMQ

/// The coordinator's round logic, driven by its loop: messages and timers in, sends out.
struct CoordinatorState {
    struct Worker {
        var deviceClass: String
        var eligible: Bool
        var lastSeen: Int64
    }

    struct Aggregator {
        var hello: AggregatorHello
        var lastSeen: Int64
    }

    struct OpenRound {
        var roundId: Int
        var plan: CohortPlan
        var frames: [[UInt8]]
        var deadline: Int64
        var nextPublish: Int64
        var openedAt: ContinuousClock.Instant
        var bytesDown: Int
        var epsilon: Double?
    }

    enum Phase {
        case idle(nextAttempt: Int64)
        case awaitingVerdict(roundId: Int, plan: CohortPlan, privacy: PrivacySettings, proposal: Wire.RoundProposal, resendAt: Int64)
        case open(OpenRound)
        case finished
    }

    let config: CoordinatorConfig
    let logger: Logger
    var checkpoint: CoordinatorCheckpoint
    var workers: [String: Worker] = [:]
    var aggregators: [String: Aggregator] = [:]
    var phase: Phase = .idle(nextAttempt: 0)
    var endReason = "roundLimit"
    var openedAnyRound = false
    var firstCheckinWaitStarted: Int64?
    var lastWaitLog: Int64 = 0
    var nextCompletionResend: Int64 = 0
    /// Built once from the checkpoint's salt (decoding the salt per device and round was waste).
    private var participationHasher: ParticipationCounter?
    private let roundsCounter = Counter(label: "fedpulse_rounds_total", dimensions: [("role", "coordinator")])
    private let participantsGauge = Gauge(label: "fedpulse_round_participants", dimensions: [("role", "coordinator")])
    private let roundTimer = Metrics.Timer(label: "fedpulse_round_duration_seconds", dimensions: [("role", "coordinator")])

    init(config: CoordinatorConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        if let directory = config.stateDirectory, let saved = try CoordinatorCheckpoint.load(from: directory) {
            guard saved.spec.hasSameShape(as: config.spec) else {
                throw RoleError("the checkpoint in \(directory) is for another model spec; use a new --state-dir")
            }
            checkpoint = saved
            logger.info("resumed from checkpoint", metadata: ["round.completed": "\(saved.completedRounds)", "model.version": "\(saved.modelVersion)"])
        } else {
            checkpoint = CoordinatorCheckpoint(
                completedRounds: 0, nextRoundId: 1, modelVersion: 0, spec: config.spec,
                weights: config.spec.initialWeights(seed: config.seed), history: [],
                participationSalt: (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: .min ... .max)) }.joined()
            )
        }
        if checkpoint.completedRounds >= config.rounds {
            endReason = "roundLimit"
        }
        participationHasher = ParticipationCounter(saltHex: checkpoint.participationSalt)
    }

    var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    func millisUntilNextTimer(now: Int64) -> Int64 {
        let next: Int64
        switch phase {
        case .idle(let attempt): next = attempt
        case .awaitingVerdict(_, _, _, _, let resendAt): next = resendAt
        case .open(let round): next = min(round.nextPublish, round.deadline + candidateGraceMillis)
        case .finished: next = now
        }
        return max(0, min(next - now, 1_000))
    }

    /// How long after the shards' deadline the global aggregator may take to deliver the model.
    var candidateGraceMillis: Int64 { max(2_000, config.roundTimeoutMillis / 2) }

    // MARK: Messages

    mutating func handleControl(_ message: AnyMessage, messenger: Messenger, broadcast: borrowing Socket, auditor: borrowing AuditorLink) throws {
        let now = Clock.nowMillis()
        switch message {
        case .checkin(let checkin):
            let body = checkin.body
            let eligible = body.eligibility.consent && body.eligibility.charging && body.eligibility.unmetered
                && body.eligibility.batteryPercent >= 20 && body.trainExamples > 0
            if workers[body.workerId] == nil {
                logger.debug("worker checked in", metadata: ["worker.id": "\(body.workerId)", "worker.class": "\(body.deviceClass.rawValue)"])
            }
            workers[body.workerId] = Worker(deviceClass: body.deviceClass.rawValue, eligible: eligible, lastSeen: now)
        case .aggregatorHello(let hello):
            if aggregators[hello.body.aggregatorId] == nil {
                logger.info("aggregator registered", metadata: ["aggregator.id": "\(hello.body.aggregatorId)", "aggregator.endpoint": "\(hello.body.endpoint ?? "-")"])
            }
            aggregators[hello.body.aggregatorId] = Aggregator(hello: hello.body, lastSeen: now)
        case .modelCandidate(let candidate):
            try candidateReceived(candidate, messenger: messenger, broadcast: broadcast, auditor: auditor)
        default:
            messenger.reject(.topicMismatch, detail: "\(message.topic) does not belong on the control socket", sender: message.sender)
        }
    }

    mutating func verdictReceived(_ verdict: RoundVerdict, messenger: Messenger, broadcast: borrowing Socket) throws {
        guard case .awaitingVerdict(let roundId, let plan, let privacy, _, _) = phase, verdict.roundId == roundId else { return }
        if verdict.approved {
            logger.info("round approved", metadata: ["round.id": "\(roundId)", "privacy.epsilon": "\(verdict.epsilon)"])
            try open(roundId: roundId, plan: plan, privacy: privacy, epsilon: verdict.epsilon, messenger: messenger, broadcast: broadcast)
        } else {
            logger.notice("round denied by the auditor", metadata: ["round.id": "\(roundId)", "deny.reason": "\(verdict.reason ?? "-")"])
            endReason = "budgetExhausted"
            phase = .finished
        }
    }

    // MARK: Timers

    /// The auditor published a ledger line: a `complete` entry acknowledges that round's completion.
    mutating func ledgerEntryReceived(_ message: LedgerEntryMessage) throws {
        guard let entry = try? LedgerChain.decode(message.line), entry.kind == .complete, let round = entry.round else { return }
        let before = checkpoint.unacknowledgedCompletions.count
        checkpoint.unacknowledgedCompletions.removeAll { $0.roundId == round }
        if checkpoint.unacknowledgedCompletions.count != before, let directory = config.stateDirectory {
            try checkpoint.save(to: directory)
        }
    }

    /// Sends every completion the auditor has not recorded yet, at most every 3 s.
    private mutating func resendCompletions(now: Int64, messenger: Messenger, auditor: borrowing AuditorLink) throws {
        guard auditor.isConfigured, !checkpoint.unacknowledgedCompletions.isEmpty, now >= nextCompletionResend else { return }
        for completed in checkpoint.unacknowledgedCompletions {
            try messenger.send(completed, on: auditor.events, dontWait: true)
        }
        nextCompletionResend = now + 3_000
    }

    mutating func timersFired(now: Int64, messenger: Messenger, broadcast: borrowing Socket, auditor: borrowing AuditorLink) throws {
        try resendCompletions(now: now, messenger: messenger, auditor: auditor)
        workers = workers.filter { now - $0.value.lastSeen <= config.workerTimeoutMillis }
        aggregators = aggregators.filter { now - $0.value.lastSeen <= config.aggregatorTimeoutMillis }
        switch phase {
        case .idle(let attempt) where now >= attempt:
            try tryStartRound(now: now, messenger: messenger, broadcast: broadcast, auditor: auditor)
        case .awaitingVerdict(let roundId, let plan, let privacy, let proposal, let resendAt) where now >= resendAt:
            logger.warning("no verdict from the auditor yet; training waits and asks again", metadata: ["round.id": "\(roundId)"])
            try messenger.send(proposal, on: auditor.events, dontWait: true)
            phase = .awaitingVerdict(roundId: roundId, plan: plan, privacy: privacy, proposal: proposal, resendAt: now + 3_000)
        case .open(var round):
            if now >= round.deadline + candidateGraceMillis {
                logger.warning("round produced no model in time; retrying", metadata: ["round.id": "\(round.roundId)"])
                phase = .idle(nextAttempt: now)
            } else if now >= round.nextPublish && now < round.deadline {
                try messenger.send(frames: round.frames, on: broadcast)
                round.nextPublish = now + config.republishIntervalMillis
                phase = .open(round)
            }
        default:
            break
        }
    }

    private mutating func tryStartRound(now: Int64, messenger: Messenger, broadcast: borrowing Socket, auditor: borrowing AuditorLink) throws {
        if checkpoint.completedRounds >= config.rounds {
            endReason = "roundLimit"
            phase = .finished
            return
        }
        let global = aggregators.values.first { $0.hello.tier == .global }?.hello.endpoint
        let shards = aggregators.values.compactMap { aggregator -> LiveShard? in
            let hello = aggregator.hello
            guard hello.tier == .region, let region = hello.region, let endpoint = hello.endpoint else { return nil }
            return LiveShard(region: region.rawValue, shard: hello.shard ?? 0, endpoint: endpoint)
        }
        let candidates = workers.map {
            Candidate(workerId: $0.key, deviceClass: $0.value.deviceClass, eligible: $0.value.eligible && underParticipationCap($0.key))
        }
        if !openedAnyRound {
            let waitStart = firstCheckinWaitStarted ?? now
            firstCheckinWaitStarted = waitStart
            if candidates.count < config.waitForWorkers && now - waitStart < 60_000 {
                logWaiting(now: now, "waiting for workers to check in", ["workers.live": "\(candidates.count)", "workers.expected": "\(config.waitForWorkers)"])
                phase = .idle(nextAttempt: now + 100)
                return
            }
        }
        guard let global else {
            logWaiting(now: now, "waiting for a global aggregator", [:])
            phase = .idle(nextAttempt: now + 100)
            return
        }
        _ = global
        let roundId = checkpoint.nextRoundId
        let plan = CohortPlanner.plan(
            candidates: candidates, shards: shards, sampling: sampling(population: candidates.count),
            seed: config.seed, roundId: roundId
        )
        guard plan.memberCount >= config.minParticipants else {
            logWaiting(now: now, "too few assignable workers for a round", ["round.members": "\(plan.memberCount)", "shards.live": "\(shards.count)"])
            if case .poisson = config.sampling {
                // The sample is a function of the round id: draw the next one rather than the
                // same short cohort again.
                checkpoint.nextRoundId += 1
            }
            phase = .idle(nextAttempt: now + 250)
            return
        }
        checkpoint.nextRoundId += 1
        // Persist the id now: a coordinator restarted mid-round must never reuse it, or workers
        // and aggregators (which skip ids they have seen) would ignore the retried round.
        if let directory = config.stateDirectory { try checkpoint.save(to: directory) }
        let population = max(1, candidates.filter(\.eligible).count)
        let rate = samplingRate(population: population)
        var privacy = config.privacy
        if privacy.placement != .off {
            privacy.expectedCohort = max(1, Int((rate * Double(population)).rounded()))
            privacy.noiseMultiplier = try noiseMultiplier(samplingRate: rate)
        }
        if auditor.isConfigured {
            let proposal = Wire.RoundProposal(
                roundId: roundId, samplingRate: rate, noiseMultiplier: privacy.noiseMultiplier,
                clipNorm: privacy.clipNorm ?? 1, placement: privacy.placement, expectedCohort: privacy.expectedCohort,
                population: population, selected: plan.shards.flatMap(\.members).map(participationKey)
            )
            try messenger.send(proposal, on: auditor.events)
            phase = .awaitingVerdict(roundId: roundId, plan: plan, privacy: privacy, proposal: proposal, resendAt: now + 3_000)
        } else {
            try open(roundId: roundId, plan: plan, privacy: privacy, epsilon: nil, messenger: messenger, broadcast: broadcast)
        }
    }

    /// The salted hash under which a device's participation is counted and reported.
    private func participationKey(_ workerId: String) -> String {
        participationHasher?.key(for: workerId) ?? Digest.sha256Hex(Array((checkpoint.participationSalt + workerId).utf8))
    }

    private func underParticipationCap(_ workerId: String) -> Bool {
        guard let cap = config.participationCap else { return true }
        return (checkpoint.participation[participationKey(workerId)] ?? 0) < cap
    }

    /// The configured z, or the one calibrated (once per run) to reach the target ε over all rounds.
    private mutating func noiseMultiplier(samplingRate: Double) throws -> Double {
        guard let target = config.targetEpsilon else { return config.privacy.noiseMultiplier }
        if let calibrated = checkpoint.calibratedNoiseMultiplier { return calibrated }
        guard let z = NoiseCalibration.noiseMultiplier(targetEpsilon: target, delta: config.delta, samplingRate: samplingRate, rounds: config.rounds) else {
            throw RoleError("no noise multiplier reaches ε = \(target) at δ = \(config.delta) over \(config.rounds) rounds at q = \(samplingRate)")
        }
        logger.info("noise multiplier calibrated", metadata: ["privacy.z": "\(z)", "privacy.target_epsilon": "\(target)", "privacy.q": "\(samplingRate)"])
        checkpoint.calibratedNoiseMultiplier = z
        return z
    }

    private func sampling(population: Int) -> CohortSampling {
        switch config.sampling {
        case .all: return .fixedSize(population)
        case .fixedSize(let size): return .fixedSize(size)
        case .poisson(let rate): return .poisson(rate: rate)
        }
    }

    private func samplingRate(population: Int) -> Double {
        switch config.sampling {
        case .all: return 1
        case .fixedSize(let size): return min(1, Double(size) / Double(population))
        case .poisson(let rate): return rate
        }
    }

    private mutating func logWaiting(now: Int64, _ message: Logger.Message, _ metadata: Logger.Metadata) {
        guard now - lastWaitLog >= 2_000 else { return }
        lastWaitLog = now
        logger.info(message, metadata: metadata)
    }

    // MARK: Opening and completing rounds

    private mutating func open(roundId: Int, plan: CohortPlan, privacy: PrivacySettings, epsilon: Double?, messenger: Messenger, broadcast: borrowing Socket) throws {
        let now = Clock.nowMillis()
        guard let global = aggregators.values.first(where: { $0.hello.tier == .global })?.hello.endpoint else {
            phase = .idle(nextAttempt: now + 100)
            return
        }
        var weights = Tensor.f32le(name: "weights", checkpoint.weights)
        let digest = Digest.sha256Hex(weights.bytes)
        weights.sha256 = digest
        let body = RoundOpen(
            roundId: roundId, kind: statisticsPending ? .statistics : .train, modelVersion: checkpoint.modelVersion, modelDigest: digest,
            modelSpec: try JSONValue(encoding: checkpoint.spec), training: config.training, privacy: privacy,
            shards: plan.shards.map { ShardAssignment(region: DeviceClassName(rawValue: $0.shard.region) ?? .watch, shard: $0.shard.shard, endpoint: $0.shard.endpoint, members: $0.members) },
            globalEndpoint: global, deadlineMillis: now + config.roundTimeoutMillis,
            minParticipants: config.minParticipants, samplingSeed: Int(truncatingIfNeeded: config.seed)
        )
        let frames = try messenger.codec.encode(body, sender: config.id, sentAtMillis: now, tensors: [weights])
        try messenger.send(frames: frames, on: broadcast)
        let size = frames.reduce(0) { $0 + $1.count }
        openedAnyRound = true
        for member in plan.shards.flatMap(\.members) { checkpoint.participation[participationKey(member), default: 0] += 1 }
        logger.info("round opened", metadata: ["round.id": "\(roundId)", "round.members": "\(plan.memberCount)", "model.version": "\(checkpoint.modelVersion)"])
        phase = .open(
            OpenRound(
                roundId: roundId, plan: plan, frames: frames, deadline: body.deadlineMillis,
                nextPublish: now + config.republishIntervalMillis, openedAt: .now,
                bytesDown: size * plan.memberCount, epsilon: epsilon
            )
        )
    }

    private mutating func candidateReceived(_ message: Message<ModelCandidate>, messenger: Messenger, broadcast: borrowing Socket, auditor: borrowing AuditorLink) throws {
        let candidate = message.body
        guard case .open(let round) = phase, candidate.roundId == round.roundId else {
            messenger.reject(.staleRound, detail: "model for round \(candidate.roundId) arrived when it was not open", sender: message.sender, roundId: candidate.roundId)
            return
        }
        guard let tensor = message.tensors.first(where: { $0.name == "weights" }), tensor.elementCount == checkpoint.spec.parameterCount else {
            messenger.reject(.shapeMismatch, detail: "model candidate without a weights tensor of the model's size", sender: message.sender, roundId: candidate.roundId)
            return
        }
        guard Digest.sha256Hex(tensor.bytes) == candidate.modelDigest else {
            messenger.reject(.digestMismatch, detail: "model candidate digest does not match its weights", sender: message.sender, roundId: candidate.roundId)
            return
        }
        let now = Clock.nowMillis()
        if statisticsPending {
            try statisticsReceived(message)
            phase = .idle(nextAttempt: now)
            return
        }
        guard candidate.contributors >= config.minParticipants else {
            logger.warning(
                "round closed with too few contributors; retrying",
                metadata: ["round.id": "\(round.roundId)", "round.contributors": "\(candidate.contributors)", "round.minimum": "\(config.minParticipants)"]
            )
            phase = .idle(nextAttempt: now)
            return
        }
        let seconds = Double((ContinuousClock.now - round.openedAt).components.attoseconds) / 1e18 + Double((ContinuousClock.now - round.openedAt).components.seconds)
        checkpoint.weights = tensor.floats()
        checkpoint.modelVersion = candidate.modelVersion
        checkpoint.completedRounds += 1
        var record = RoundRecord(
            round: checkpoint.completedRounds, roundId: round.roundId, modelVersion: candidate.modelVersion,
            participants: candidate.participants, contributors: candidate.contributors,
            accuracy: nil, loss: nil, federatedAccuracy: candidate.metrics?.accuracy, seconds: seconds,
            bytesUp: candidate.bytesUp ?? 0, bytesDown: round.bytesDown, epsilon: round.epsilon
        )
        if let holdout = config.holdout, let data = try? holdout.dataset(spec: checkpoint.spec),
            let metrics = try? Evaluator.evaluate(spec: checkpoint.spec, weights: checkpoint.weights, data: data)
        {
            record.accuracy = metrics.accuracy
            record.loss = metrics.logLoss
        } else {
            record.accuracy = candidate.metrics?.accuracy
            record.loss = candidate.metrics?.loss
        }
        checkpoint.history.append(record)
        if auditor.isConfigured {
            checkpoint.unacknowledgedCompletions.append(
                RoundCompleted(
                    roundId: round.roundId, modelVersion: candidate.modelVersion, modelDigest: candidate.modelDigest,
                    participants: candidate.participants, contributors: candidate.contributors, rejected: candidate.rejected ?? [:],
                    clippedCount: candidate.clippedCount, effectiveNoiseMultiplier: candidate.effectiveNoiseMultiplier ?? 0,
                    metrics: candidate.metrics
                )
            )
        }
        if let directory = config.stateDirectory { try checkpoint.save(to: directory) }
        roundsCounter.increment()
        participantsGauge.record(candidate.contributors)
        roundTimer.recordNanoseconds(Int64(seconds * 1e9))
        logger.info(
            "round completed",
            metadata: [
                "round.number": "\(record.round)", "round.id": "\(round.roundId)", "round.contributors": "\(candidate.contributors)",
                "model.accuracy": "\(record.accuracy.map { String(format: "%.4f", $0) } ?? "-")", "round.seconds": "\(String(format: "%.3f", seconds))",
            ]
        )
        try messenger.send(record, on: broadcast)
        nextCompletionResend = 0
        try resendCompletions(now: now, messenger: messenger, auditor: auditor)
        if let target = config.targetAccuracy, let accuracy = record.accuracy, accuracy >= target {
            endReason = "targetReached"
            phase = .finished
        } else {
            phase = .idle(nextAttempt: now)
        }
    }

    /// Whether the next round must be the statistics round.
    var statisticsPending: Bool { config.featureStatistics && !checkpoint.statisticsDone }

    /// Folds the federated feature moments into the spec's scaling; the model itself is unchanged.
    private mutating func statisticsReceived(_ message: Message<ModelCandidate>) throws {
        let names = RoundTensors.statisticsNames
        let tensors = names.compactMap { message.tensor(named: $0) }
        let featureCount = checkpoint.spec.features.count
        guard tensors.count == names.count, tensors.allSatisfy({ $0.elementCount == featureCount }) else {
            logger.warning("statistics round returned no usable moments; retrying", metadata: ["round.id": "\(message.body.roundId)"])
            return
        }
        let values = tensors.map { $0.floats().map(Double.init) }
        let moments = FeatureMoments(sums: values[0], sumSquares: values[1], counts: values[2])
        let reference = checkpoint.spec.features.map(\.scaling)
        checkpoint.spec = try checkpoint.spec.replacingScaling(moments.standardization(relativeTo: reference))
        checkpoint.statisticsDone = true
        if let directory = config.stateDirectory { try checkpoint.save(to: directory) }
        logger.info(
            "feature statistics folded into the spec",
            metadata: ["round.id": "\(message.body.roundId)", "round.contributors": "\(message.body.contributors)", "examples": "\(Int(values[2].max() ?? 0))"]
        )
    }

    /// Announces the end a few times (PUB drops for late readers), then lets the loop return.
    mutating func endRun(messenger: Messenger, broadcast: borrowing Socket, reason: String) throws {
        let end = RunEnd(reason: reason, finalRound: checkpoint.completedRounds, modelVersion: checkpoint.modelVersion)
        logger.info("run ended", metadata: ["run.reason": "\(reason)", "round.completed": "\(checkpoint.completedRounds)"])
        for _ in 0..<5 {
            try messenger.send(end, on: broadcast)
            var nothing: [PollItem] = []
            try poll(&nothing, timeout: .milliseconds(100))
        }
    }
}

/// A role-level failure with a sentence a user can act on.
public struct RoleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
