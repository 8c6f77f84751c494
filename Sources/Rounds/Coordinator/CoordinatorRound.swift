import Federation
import Learning
import Privacy
public import Wire

/// The coordinator's round logic as a pure state machine: registry, cohort, proposal, open,
/// candidate, completion and end, driven by decoded messages with their sender's identity and by
/// timer ticks carrying `now` (epoch ms). It returns ``CoordinatorAction``s and never touches a
/// socket, a file, a clock, a logger or a global random generator.
///
/// Why one machine composed of small parts (``WorkerRegistry``, ``AggregatorRegistry``,
/// ``CandidateCheck``, the drafting and completion extensions): every decision an attacker can
/// reach from a socket is made here, so each is tested with plain values.
public struct CoordinatorRound: Sendable {
    /// Why a run ended: the `run.end` reason.
    public enum EndReason: String, Sendable, Equatable {
        case roundLimit, budgetExhausted, targetReached, stopped
        /// The auditor denied `maxDenies` proposals in a row for reasons other than the budget.
        case auditorDenied
        /// No noise multiplier reaches the target ε at the run's sampling rate.
        case calibrationFailed
    }

    struct Pending: Sendable {
        var draft: RoundDraft
        var proposal: Wire.RoundProposal
        var resendAt: Int64
    }

    struct OpenRound: Sendable {
        var draft: RoundDraft
        var frames: [[UInt8]]
        var deadline: Int64
        var nextPublish: Int64
        var openedAt: Int64
        var bytesDown: Int
        var epsilon: Double?
        /// The coordinator's own refusals while the round was open (candidates), by reason.
        var rejected: [String: Int] = [:]
    }

    enum Phase: Sendable {
        case idle(nextAttempt: Int64)
        case awaitingVerdict(Pending)
        case open(OpenRound)
        case finished(EndReason)
    }

    public let settings: CoordinatorSettings
    public internal(set) var progress: CoordinatorProgress
    public internal(set) var workers: WorkerRegistry
    public internal(set) var aggregators = AggregatorRegistry()
    var phase: Phase = .idle(nextAttempt: 0)
    var openedAnyRound = false
    var firstCheckinWaitStarted: Int64?
    var lastWaitLog: Int64 = .min
    var nextCompletionResend: Int64 = 0
    var consecutiveDenies = 0
    /// Expiry scans every worker, and the loop ticks after every batch: at most every 250 ms.
    var nextExpiry: Int64 = .min
    let participation: ParticipationCounter?
    let candidateCheck: CandidateCheck
    let codec: WireCodec

    /// Starts from `progress` (a fresh run or a checkpoint); `digest` is the SHA-256 hex of a
    /// frame, as every role computes model digests.
    public init(
        settings: CoordinatorSettings,
        progress: CoordinatorProgress,
        digest: @escaping @Sendable ([UInt8]) -> String
    ) {
        self.settings = settings
        self.progress = progress
        workers = WorkerRegistry(capacity: settings.maxWorkers)
        participation = ParticipationCounter(saltHex: progress.participationSalt)
        candidateCheck = CandidateCheck(
            parameterCount: progress.spec.parameterCount,
            maxWeightMagnitude: settings.maxWeightMagnitude,
            digest: digest
        )
        codec = WireCodec(limits: settings.limits)
    }

    /// Whether the run is over (after the `announceEnd` action).
    public var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    /// The open round's id, if one is open.
    public var openRoundId: Int? {
        if case .open(let round) = phase { return round.draft.roundId }
        return nil
    }

    /// The round id awaiting the auditor's verdict, if any.
    public var proposedRoundId: Int? {
        if case .awaitingVerdict(let pending) = phase { return pending.draft.roundId }
        return nil
    }

    /// Epoch ms of the next timer the machine wants (the loop polls until then, at most 1 s).
    public func nextTimer(now: Int64) -> Int64 {
        var next: Int64
        switch phase {
        case .idle(let attempt): next = attempt
        case .awaitingVerdict(let pending): next = pending.resendAt
        case .open(let round):
            // Re-publication stops at the deadline; after it only the candidate grace is left
            // (a stale `nextPublish` there would make the loop spin).
            next =
                now < round.deadline
                ? min(round.nextPublish, round.deadline) : round.deadline + settings.candidateGraceMillis
        case .finished: next = now
        }
        if settings.hasAuditor && !progress.unacknowledgedCompletions.isEmpty { next = min(next, nextCompletionResend) }
        return next
    }

    // MARK: Control messages

    /// One message from the control PULL socket.
    public mutating func controlReceived(
        _ message: AnyMessage,
        from identity: PeerIdentity,
        now: Int64
    ) -> [CoordinatorAction] {
        switch message {
        case .checkin(let checkin): return checkinReceived(checkin.body, from: identity, now: now)
        case .aggregatorHello(let hello): return helloReceived(hello.body, from: identity, now: now)
        case .modelCandidate(let candidate): return candidateReceived(candidate, from: identity, now: now)
        default:
            return [
                .reject(
                    .topicMismatch,
                    sender: identity.name,
                    roundId: nil,
                    detail: "\(message.topic) does not belong on the control socket"
                )
            ]
        }
    }

    /// A worker offers itself; only in its own name, and only while the registry has room.
    public mutating func checkinReceived(
        _ checkin: Checkin,
        from identity: PeerIdentity,
        now: Int64
    ) -> [CoordinatorAction] {
        guard identity.name == checkin.workerId else {
            return [
                .reject(
                    .unauthorizedSender,
                    sender: identity.name,
                    roundId: nil,
                    detail: "check-in for \(checkin.workerId) sent by another peer"
                )
            ]
        }
        switch workers.checkedIn(checkin, now: now) {
        case .known: return []
        case .new:
            return [
                .debug(
                    "worker checked in",
                    ["worker.id": checkin.workerId, "worker.class": checkin.deviceClass.rawValue]
                )
            ]
        case .full:
            return [
                .reject(
                    .bufferFull,
                    sender: identity.name,
                    roundId: nil,
                    detail: "worker registry is full (\(workers.capacity) workers)"
                )
            ]
        }
    }

    /// An aggregator registers or heartbeats; a live slot is not handed to another id.
    public mutating func helloReceived(
        _ hello: AggregatorHello,
        from identity: PeerIdentity,
        now: Int64
    ) -> [CoordinatorAction] {
        guard identity.name == hello.aggregatorId else {
            return [
                .reject(
                    .unauthorizedSender,
                    sender: identity.name,
                    roundId: nil,
                    detail: "aggregator.hello for \(hello.aggregatorId) sent by another peer"
                )
            ]
        }
        // The id names the slot (`global`, `region-<class>-<shard>`): with transport
        // authentication only the holder of that enrolled key can announce it, and a device's
        // key (enrolled under its own id) can never register as an aggregator.
        let slotId: String? =
            switch hello.tier {
            case .global: "global"
            case .region: hello.region.flatMap { region in hello.shard.map { GlobalRound.aggregatorId(region: region, shard: $0) } }
            }
        guard hello.aggregatorId == slotId else {
            return [
                .reject(
                    .unauthorizedSender,
                    sender: identity.name,
                    roundId: nil,
                    detail: "aggregator.hello from \(hello.aggregatorId) for slot \(slotId ?? "-"): the id must name its slot"
                )
            ]
        }
        switch aggregators.helloReceived(hello, now: now) {
        case .known: return []
        case .new:
            return [
                .info(
                    "aggregator registered",
                    ["aggregator.id": hello.aggregatorId, "aggregator.endpoint": hello.endpoint ?? "-"]
                )
            ]
        case .slotTaken(let holder):
            let slot = hello.tier == .global ? "global" : "\(hello.region?.rawValue ?? "-")/\(hello.shard ?? 0)"
            return [
                .reject(
                    .unauthorizedSender,
                    sender: identity.name,
                    roundId: nil,
                    detail: "aggregator slot \(slot) is held by \(holder), which is still live"
                )
            ]
        }
    }

    // MARK: The auditor

    /// The auditor's answer to a proposal: approve opens it; a budget deny ends the run; any other
    /// deny is logged and the next round id is proposed later, at most `maxDenies` times in a row.
    public mutating func verdictReceived(_ verdict: RoundVerdict, now: Int64) -> [CoordinatorAction] {
        guard case .awaitingVerdict(let pending) = phase, verdict.roundId == pending.draft.roundId else { return [] }
        if verdict.approved {
            consecutiveDenies = 0
            var actions: [CoordinatorAction] = [
                .info("round approved", ["round.id": "\(verdict.roundId)", "privacy.epsilon": "\(verdict.epsilon)"])
            ]
            actions += open(pending.draft, epsilon: verdict.epsilon, now: now)
            return actions
        }
        let reason = verdict.reason ?? "-"
        if reason == "budgetExceeded" {
            return [
                .notice(
                    "round denied: the privacy budget is spent",
                    ["round.id": "\(verdict.roundId)", "deny.reason": reason]
                )
            ]
                + finish(.budgetExhausted)
        }
        consecutiveDenies += 1
        let metadata = ["round.id": "\(verdict.roundId)", "deny.reason": reason, "deny.count": "\(consecutiveDenies)"]
        guard consecutiveDenies < settings.maxDenies else {
            return [.warning("the auditor denied every proposal; giving up", metadata)] + finish(.auditorDenied)
        }
        phase = .idle(nextAttempt: now + 1_000)
        return [.warning("round denied by the auditor; proposing the next round id later", metadata)]
    }

    /// A ledger line: a `complete` entry acknowledges that round's completion.
    public mutating func ledgerEntryReceived(_ message: LedgerEntryMessage) -> [CoordinatorAction] {
        guard let entry = try? LedgerChain.decode(message.line), entry.kind == .complete, let round = entry.round else {
            return []
        }
        let before = progress.unacknowledgedCompletions.count
        progress.unacknowledgedCompletions.removeAll { $0.roundId == round }
        return progress.unacknowledgedCompletions.count == before ? [] : [.persist(progress)]
    }

    // MARK: Time

    /// The loop's tick: expiries, re-sends, re-publication, deadlines and the next round.
    public mutating func timerFired(now: Int64) -> [CoordinatorAction] {
        var actions = resendCompletions(now: now)
        actions += expire(now: now)
        switch phase {
        case .idle(let attempt) where now >= attempt:
            actions += startRound(now: now)
        case .awaitingVerdict(var pending) where now >= pending.resendAt:
            actions.append(
                .warning(
                    "no verdict from the auditor yet; training waits and asks again",
                    ["round.id": "\(pending.draft.roundId)"]
                )
            )
            actions.append(.sendProposal(pending.proposal))
            pending.resendAt = now + 3_000
            phase = .awaitingVerdict(pending)
        case .open(var round):
            if now >= round.deadline + settings.candidateGraceMillis {
                actions.append(
                    .warning("round produced no model in time; retrying", ["round.id": "\(round.draft.roundId)"])
                )
                phase = .idle(nextAttempt: now)
            } else if now >= round.nextPublish && now < round.deadline {
                actions.append(.broadcast(topic: .roundOpen, frames: round.frames))
                round.nextPublish = now + settings.republishIntervalMillis
                phase = .open(round)
            }
        default:
            break
        }
        return actions
    }

    /// A stop was requested (SIGTERM): the run ends as `stopped`.
    public mutating func stopRequested() -> [CoordinatorAction] {
        isFinished ? [] : finish(.stopped)
    }

    /// Drops silent workers and aggregators, saying so: a worker that stopped checking in leaves
    /// the next cohort, a shard that stopped heartbeating leaves the next assignment.
    mutating func expire(now: Int64) -> [CoordinatorAction] {
        guard nextExpiry == .min || now >= nextExpiry else { return [] }
        nextExpiry = now + 250
        var actions: [CoordinatorAction] = []
        let goneWorkers = workers.expire(now: now, timeoutMillis: settings.workerTimeoutMillis)
        if !goneWorkers.isEmpty {
            actions.append(
                .info(
                    "workers stopped checking in; dropped from the next cohort",
                    [
                        "workers.dropped": "\(goneWorkers.count)",
                        "worker.ids": goneWorkers.prefix(10).joined(separator: ","), "workers.live": "\(workers.count)",
                    ]
                )
            )
        }
        for id in aggregators.expire(now: now, timeoutMillis: settings.aggregatorTimeoutMillis) {
            actions.append(
                .warning("aggregator stopped heartbeating; dropped from the next assignment", ["aggregator.id": id])
            )
        }
        return actions
    }

    mutating func finish(_ reason: EndReason) -> [CoordinatorAction] {
        phase = .finished(reason)
        return [
            .info("run ended", ["run.reason": reason.rawValue, "round.completed": "\(progress.completedRounds)"]),
            .announceEnd(
                RunEnd(
                    reason: reason.rawValue,
                    finalRound: progress.completedRounds,
                    modelVersion: progress.modelVersion
                )
            ),
        ]
    }

    /// Logs a waiting condition at most every 2 s.
    mutating func waiting(now: Int64, _ message: String, _ metadata: [String: String]) -> [CoordinatorAction] {
        guard lastWaitLog == .min || now - lastWaitLog >= 2_000 else { return [] }
        lastWaitLog = now
        return [.info(message, metadata)]
    }

    /// The salted hash under which a device's participation is counted and reported.
    func participationKey(_ workerId: String) -> String {
        participation?.key(for: workerId) ?? candidateCheck.digest(Array((progress.participationSalt + workerId).utf8))
    }

    func underParticipationCap(_ workerId: String) -> Bool {
        guard let cap = settings.participationCap else { return true }
        return (progress.participation[participationKey(workerId)] ?? 0) < cap
    }
}
