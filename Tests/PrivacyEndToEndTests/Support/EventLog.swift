import FedPulseTestSupport
import Foundation
import Synchronization

/// An append-only log that a socket thread or a pipe handler fills and a test awaits.
///
/// `first(within:_:where:)` registers a predicate over everything seen so far; it is re-checked on
/// every append, so a wait ends the moment the awaited thing arrives, never after a guessed sleep.
/// The timeout only bounds a wait that would otherwise hang.
final class EventLog<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var waiters: [Int: @Sendable ([Element]) -> Bool] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())
    private let describe: @Sendable (Element) -> String

    init(describe: @escaping @Sendable (Element) -> String) {
        self.describe = describe
    }

    func append(_ item: Element) {
        state.withLock { state in
            state.items.append(item)
            let items = state.items
            state.waiters = state.waiters.filter { !$0.value(items) }
        }
    }

    var items: [Element] { state.withLock { $0.items } }

    var transcript: String { items.map { "  \(describe($0))" }.joined(separator: "\n") }

    /// Waits until `match` returns a value for the items seen so far.
    func first<T: Sendable>(
        within timeout: Duration,
        _ description: String,
        where match: @escaping @Sendable ([Element]) -> T?
    ) async throws -> T {
        let once = Once()
        let timer = Mutex<Task<Void, Never>?>(nil)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let check: @Sendable ([Element]) -> Bool = { items in
                guard let value = match(items) else { return false }
                if once.claim() {
                    timer.withLock { $0?.cancel() }
                    continuation.resume(returning: value)
                }
                return true
            }
            let waiter = state.withLock { state -> Int? in
                if check(state.items) { return nil }
                state.nextWaiter += 1
                state.waiters[state.nextWaiter] = check
                return state.nextWaiter
            }
            guard let waiter else { return }
            let task = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                self?.state.withLock { _ = $0.waiters.removeValue(forKey: waiter) }
                if once.claim() {
                    continuation.resume(throwing: TimedOut(waitingFor: "\(description) (within \(timeout))", seen: self?.transcript ?? ""))
                }
            }
            timer.withLock { $0 = task }
            if !state.withLock({ $0.waiters.keys.contains(waiter) }) { task.cancel() }
        }
    }
}

/// A value behind a mutex that closures can share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T { try mutex.withLock { try body(&$0) } }
}

/// A flag only one caller can claim.
final class Once: Sendable {
    private let flag = Atomic<Bool>(false)
    func claim() -> Bool { !flag.exchange(true, ordering: .acquiringAndReleasing) }
}
