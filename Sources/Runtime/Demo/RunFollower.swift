public import Wire
public import ZeroMQ

/// Follows a run on the coordinator's broadcast: each new `round.summary` until `run.end`, a
/// child's failure, the coordinator's exit, a stop request or the deadline — sampling the
/// children's peak memory.
///
/// A child that exits with an error ends the run within one poll (a quarter of a second): a
/// broken export or a bad flag makes a role exit at start, and waiting for rounds that can no
/// longer complete would only hide that line in a log.
///
/// The demo, the end-to-end tests and the benchmarks all watch runs the same way; this is that way.
public struct RunFollower {
    public struct Outcome: Sendable {
        public var rounds: [RoundSummary] = []
        /// `run.end`'s reason, or `childFailed`, `coordinatorExited`, `timedOut`, `stopped`.
        public var endReason = "stopped"
        public var peakMemoryBytes: [String: Int] = [:]
        /// Set when `endReason` is `childFailed`.
        public var failure: ChildFailure?
    }

    /// Blocks until the run ends; `onRound` sees each round once, `onTick` runs after every poll.
    public static func follow(
        observer: borrowing Socket,
        control: LoopControl?,
        children: ChildProcesses,
        coordinator: ChildProcesses.Child,
        deadline: ContinuousClock.Instant,
        onRound: (RoundSummary) -> Void,
        onTick: () -> Void = {}
    ) throws -> Outcome {
        let codec = WireCodec()
        var outcome = Outcome()
        func samplePeaks() {
            for child in children.all {
                if let bytes = children.peakResidentBytes(child) {
                    outcome.peakMemoryBytes[child.name] = max(outcome.peakMemoryBytes[child.name] ?? 0, bytes)
                }
            }
        }
        while !(control?.shouldStop ?? false) {
            var items = [observer.pollItem()]
            if let control { items.append(control.wakeup.pollItem()) }
            try poll(&items, timeout: .milliseconds(250))
            if let control, items.count > 1, items[1].isReadable { control.wakeup.drain() }
            onTick()
            while let frames = try observer.receive(dontWait: true) {
                switch codec.decode(frames) {
                case .success(.roundSummary(let summary)):
                    guard !outcome.rounds.contains(where: { $0.round == summary.body.round }) else { continue }
                    outcome.rounds.append(summary.body)
                    samplePeaks()
                    onRound(summary.body)
                case .success(.runEnd(let end)):
                    samplePeaks()
                    outcome.endReason = end.body.reason
                    return outcome
                default:
                    continue
                }
            }
            let coordinatorGone = !children.isRunning(coordinator)
            // The exit handler records a failure just after the process is reaped; wait for it
            // so that a coordinator that failed is reported as such, not as a quiet exit.
            if coordinatorGone { _ = children.exitStatus(coordinator, within: .seconds(1)) }
            if let failure = children.firstFailure {
                outcome.endReason = "childFailed"
                outcome.failure = failure
                return outcome
            }
            if coordinatorGone {
                outcome.endReason = "coordinatorExited"
                return outcome
            }
            if ContinuousClock.now > deadline {
                outcome.endReason = "timedOut"
                return outcome
            }
        }
        return outcome
    }
}
