/// A bounded wait on a condition that no message announces (a file, a log, a reloaded
/// allowlist): the condition is looked at again every `interval` until it holds or `timeout`
/// passes. The pause between looks is the only sleep, and it cannot race: nothing is assumed
/// to have happened when it ends, the condition is read again.
public enum Poll {
    /// Whether `condition` held before `timeout`.
    public static func until(
        within timeout: Duration,
        every interval: Duration = .milliseconds(50),
        _ condition: () throws -> Bool
    ) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while try !condition() {
            guard clock.now < deadline else { return false }
            try await Task.sleep(for: interval)
        }
        return true
    }

    /// The same, throwing ``TimedOut`` naming `what` when the condition never held.
    public static func require(
        _ what: @autoclosure () -> String,
        within timeout: Duration,
        every interval: Duration = .milliseconds(50),
        _ condition: () throws -> Bool
    ) async throws {
        guard try await until(within: timeout, every: interval, condition) else {
            throw TimedOut(waitingFor: "\(what()) (within \(timeout))", seen: "")
        }
    }
}
