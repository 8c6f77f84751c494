public import Runtime
import Synchronization
public import Wire
import ZeroMQ

/// Follows a coordinator's broadcast like any other subscriber and lets a test wait for what it
/// publishes: `round.open`, `round.summary`, `run.end`.
///
/// A dedicated thread owns the SUB socket (polled with `ZeroMQ.poll`, so a wait never sleeps) and
/// appends every decoded message to an append-only log with a sequence number. Tests wait for
/// the first entry after a mark that matches a predicate; a re-published `round.open` (the same
/// round id and deadline) is logged once, while a round re-opened by a restarted coordinator
/// (a new deadline) is logged again.
public final class BroadcastObserver: Sendable {
    /// What the coordinator published.
    public enum Event: Sendable {
        case roundOpen(Message<RoundOpen>)
        case roundSummary(RoundSummary)
        case runEnd(RunEnd)

        public var roundOpen: Message<RoundOpen>? {
            if case .roundOpen(let open) = self { return open }
            return nil
        }

        public var roundSummary: RoundSummary? {
            if case .roundSummary(let summary) = self { return summary }
            return nil
        }

        public var runEnd: RunEnd? {
            if case .runEnd(let end) = self { return end }
            return nil
        }

        var line: String {
            switch self {
            case .roundOpen(let open):
                let shards = open.body.shards.map { "\($0.region.rawValue)/\($0.shard)=\($0.members.count)" }.joined(
                    separator: ","
                )
                return
                    "round.open id=\(open.body.roundId) version=\(open.body.modelVersion) selection=\(open.body.selection.rawValue) shards=[\(shards)]"
            case .roundSummary(let summary):
                return
                    "round.summary round=\(summary.round) id=\(summary.roundId) contributors=\(summary.contributors) participants=\(summary.participants.counts) rejected=\(summary.rejected ?? [:])"
            case .runEnd(let end):
                return "run.end reason=\(end.reason) finalRound=\(end.finalRound)"
            }
        }
    }

    /// One logged event; `sequence` starts at 1 and orders everything the observer saw.
    public struct Entry: Sendable {
        public let sequence: Int
        public let event: Event
    }

    struct State {
        var entries: [Entry] = []
        var openings: Set<String> = []
        var undecodable = 0
        var nextWaiter = 0
        var waiters: [Int: Waiter] = [:]
        /// Set by ``BroadcastObserver/abort(_:)``: every wait fails with it from then on.
        var abortReason: String?
    }

    /// A pending wait: `check` resumes it when an entry matches, `abort` when nothing will.
    struct Waiter: Sendable {
        let check: @Sendable ([Entry]) -> Bool
        let abort: @Sendable (String) -> Void
    }

    /// The log, shared by the socket thread and the waiting tasks.
    final class Log: Sendable {
        let mutex = Mutex(State())
    }

    public let endpoint: String
    private let runner: RoleRunner
    private let log = Log()

    /// Connects to `endpoint` on its own thread and returns once the SUB socket is connecting.
    ///
    /// Call it before the coordinator starts so the first messages are not missed.
    public init(endpoint: String, security: TransportSecurity = .insecure) async throws {
        self.endpoint = endpoint
        runner = try RoleRunner()
        let ready = ReadySignal()
        let log = self.log
        runner.start(name: "e2e-observer") { control in
            // Signalled again (harmlessly) on the way out, so a failed start cannot hang `init`.
            defer { ready.signal() }
            let context = try Context()
            let subscriber = try Socket(context, type: .sub)
            try subscriber.setLinger(0)
            try subscriber.setReceiveHighWaterMark(100_000)
            for topic in [Topic.roundOpen, .roundSummary, .runEnd] { try subscriber.subscribe(topic.rawValue) }
            try security.secureClient(subscriber, of: "coordinator")
            try subscriber.connect(endpoint)
            ready.signal()
            let codec = WireCodec()
            while !control.shouldStop {
                var items = [control.wakeup.pollItem(), subscriber.pollItem()]
                try poll(&items, timeout: .milliseconds(1_000))
                if items[0].isReadable { control.wakeup.drain() }
                while let frames = try subscriber.receive(dontWait: true) {
                    let event: Event?
                    var key: String?
                    switch codec.decode(frames) {
                    case .success(.roundOpen(let open)):
                        event = .roundOpen(open)
                        key = "\(open.body.roundId)@\(open.body.deadlineMillis)"
                    case .success(.roundSummary(let summary)): event = .roundSummary(summary.body)
                    case .success(.runEnd(let end)): event = .runEnd(end.body)
                    default: event = nil
                    }
                    Self.record(event, key: key, in: log)
                }
            }
        }
        try await ready.wait()
    }

    private static func record(_ event: Event?, key: String?, in log: Log) {
        log.mutex.withLock { state in
            guard let event else {
                state.undecodable += 1
                return
            }
            if let key, !state.openings.insert(key).inserted { return }
            state.entries.append(Entry(sequence: state.entries.count + 1, event: event))
            let entries = state.entries
            state.waiters = state.waiters.filter { !$0.value.check(entries) }
        }
    }

    /// The sequence number of the last event seen so far: wait for what comes after it.
    public var mark: Int { log.mutex.withLock { $0.entries.count } }

    /// Everything seen so far, in order.
    public var entries: [Entry] { log.mutex.withLock { $0.entries } }

    /// Messages on the broadcast that failed to decode (there should be none).
    public var undecodable: Int { log.mutex.withLock { $0.undecodable } }

    /// The event log as text, for failure messages.
    public var transcript: String {
        log.mutex.withLock { state in state.entries.map { "  #\($0.sequence) \($0.event.line)" }.joined(separator: "\n")
        }
    }

    /// Waits for the first event after `mark` for which `match` returns a value.
    public func first<T: Sendable>(
        after mark: Int = 0,
        within timeout: Duration,
        _ description: String,
        where match: @escaping @Sendable (Event) -> T?
    ) async throws -> (value: T, sequence: Int) {
        let once = ReadySignal.Once()
        let timer = Mutex<Task<Void, Never>?>(nil)
        return try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<(value: T, sequence: Int), any Error>) in
            let check: @Sendable ([Entry]) -> Bool = { entries in
                for entry in entries where entry.sequence > mark {
                    if let value = match(entry.event) {
                        if once.claim() {
                            timer.withLock { $0?.cancel() }
                            continuation.resume(returning: (value, entry.sequence))
                        }
                        return true
                    }
                }
                return false
            }
            let abort: @Sendable (String) -> Void = { reason in
                if once.claim() {
                    timer.withLock { $0?.cancel() }
                    continuation.resume(throwing: Aborted(waitingFor: description, reason: reason))
                }
            }
            let (waiter, aborted) = log.mutex.withLock { state -> (Int?, String?) in
                if check(state.entries) { return (nil, nil) }
                if let reason = state.abortReason { return (nil, reason) }
                state.nextWaiter += 1
                state.waiters[state.nextWaiter] = Waiter(check: check, abort: abort)
                return (state.nextWaiter, nil)
            }
            if let aborted { abort(aborted) }
            guard let waiter else { return }
            let task = Task { [log, weak self] in
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                log.mutex.withLock { _ = $0.waiters.removeValue(forKey: waiter) }
                if once.claim() {
                    let seen = self?.transcript ?? ""
                    continuation.resume(
                        throwing: TimedOut(waitingFor: "\(description) (within \(timeout))", seen: seen)
                    )
                }
            }
            timer.withLock { $0 = task }
            if !log.mutex.withLock({ $0.waiters.keys.contains(waiter) }) { task.cancel() }
        }
    }

    /// Fails every wait, pending and later, with `reason`: a process of the hierarchy died on
    /// its own, so what a test waits for may never be published, and waiting out the timeout
    /// would only hide the cause.
    public func abort(_ reason: String) {
        let pending = log.mutex.withLock { state -> [Waiter] in
            guard state.abortReason == nil else { return [] }
            state.abortReason = reason
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in pending { waiter.abort(reason) }
    }

    /// A wait that ended because ``abort(_:)`` said why nothing more would come.
    public struct Aborted: Error, CustomStringConvertible {
        public let waitingFor: String
        public let reason: String
        public var description: String { "stopped waiting for \(waitingFor): \(reason)" }
    }

    /// The next `round.open` after `mark` that satisfies `condition`.
    public func roundOpen(
        after mark: Int = 0,
        within timeout: Duration,
        _ description: String = "round.open",
        where condition: @escaping @Sendable (Message<RoundOpen>) -> Bool = { _ in true }
    ) async throws -> (open: Message<RoundOpen>, sequence: Int) {
        let found = try await first(after: mark, within: timeout, description) { event in
            event.roundOpen.flatMap { condition($0) ? $0 : nil }
        }
        return (found.value, found.sequence)
    }

    /// The first round's summary, then the `round.open` of the round after it: where an attack on
    /// a live round starts (an earlier round exists, the attacked one is open).
    public func secondRoundOpen(
        firstWithin firstTimeout: Duration,
        openWithin openTimeout: Duration
    ) async throws -> (first: RoundSummary, open: Message<RoundOpen>, mark: Int) {
        let (first, firstSequence) = try await roundSummary(within: firstTimeout, "round.summary of round 1")
        let (open, mark) = try await roundOpen(after: firstSequence, within: openTimeout, "the second round.open") {
            $0.body.roundId > first.roundId
        }
        return (first, open, mark)
    }

    /// The next `round.summary` after `mark` that satisfies `condition`.
    public func roundSummary(
        after mark: Int = 0,
        within timeout: Duration,
        _ description: String = "round.summary",
        where condition: @escaping @Sendable (RoundSummary) -> Bool = { _ in true }
    ) async throws -> (summary: RoundSummary, sequence: Int) {
        let found = try await first(after: mark, within: timeout, description) { event in
            event.roundSummary.flatMap { condition($0) ? $0 : nil }
        }
        return (found.value, found.sequence)
    }

    /// The next `run.end` after `mark`.
    public func runEnd(after mark: Int = 0, within timeout: Duration) async throws -> RunEnd {
        try await first(after: mark, within: timeout, "run.end") { $0.runEnd }.value
    }

    /// Every `round.summary` seen so far, in order.
    public var summaries: [RoundSummary] { entries.compactMap(\.event.roundSummary) }

    /// Every distinct `round.open` seen so far, in order.
    public var openings: [Message<RoundOpen>] { entries.compactMap(\.event.roundOpen) }

    /// Stops the thread and closes the socket.
    public func stop() async {
        runner.requestStop()
        try? await runner.waitUntilFinished()
    }

    deinit { runner.requestStop() }
}

/// A one-shot signal from a thread to an awaiting task.
final class ReadySignal: Sendable {
    final class Once: Sendable {
        private let flag = Atomic<Bool>(false)
        /// `true` for the one caller that got there first.
        func claim() -> Bool { !flag.exchange(true, ordering: .acquiringAndReleasing) }
    }

    private let state = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }
}
