import FedPulseTestSupport
import Foundation
import Testing

/// The end-to-end suites: real `fedpulse` processes talking ZeroMQ over loopback.
///
/// One parent suite, `.serialized`, so the nested suites run one at a time: each starts up to a
/// dozen processes, and on the two-core test machine two such hierarchies at once would starve
/// each other and turn deadlines into flakes. Every wait is on something observed (a broadcast
/// message, a metric) and bounded; no test sleeps to synchronise.
@Suite(.serialized, .timeLimit(.minutes(2)))
enum EndToEndTests {
    /// Round timeout for tests where no deadline matters except as an upper bound.
    static let roundTimeoutMillis = 2_000

    /// Starts an empty hierarchy and a broadcast observer, runs `body`, and always stops every
    /// process; a thrown error comes back with the processes' log tails attached.
    static func withHierarchy<T: Sendable>(
        _ name: String,
        _ body: (Hierarchy, BroadcastObserver) async throws -> T
    ) async throws -> T {
        let hierarchy = try Hierarchy(name: name)
        let observer = try await hierarchy.observer()
        do {
            let result = try await hierarchy.diagnosing { try await body(hierarchy, observer) }
            #expect(observer.undecodable == 0, "the coordinator broadcast messages the Wire codec refuses")
            await hierarchy.shutdown()
            await observer.stop()
            return result
        } catch {
            await hierarchy.shutdown()
            await observer.stop()
            throw error
        }
    }

}
