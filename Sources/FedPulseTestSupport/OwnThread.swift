import Foundation

/// Runs blocking work (a socket send, an HTTP scrape) on a thread of its own and awaits it.
///
/// Swift's cooperative pool has one thread per core, two on the test machine; a test that
/// blocked one of them on a socket would slow every other task (STYLE.md, "Never block Swift's
/// task pool"). Sockets created inside `body` live and die on that thread.
public func onOwnThread<T: Sendable>(
    _ name: String = "e2e-blocking",
    _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            do {
                continuation.resume(returning: try body())
            } catch {
                continuation.resume(throwing: error)
            }
        }
        thread.name = name
        thread.start()
    }
}

/// A wait that ran out of time: what was awaited, and what had been seen by then.
public struct TimedOut: Error, CustomStringConvertible {
    public let waitingFor: String
    public let seen: String

    public init(waitingFor: String, seen: String) {
        self.waitingFor = waitingFor
        self.seen = seen
    }

    public var description: String { "timed out waiting for \(waitingFor); seen so far:\n\(seen)" }
}
