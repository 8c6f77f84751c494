import FedPulseTestSupport
import Foundation
import Testing

extension EndToEndTests {
    /// A process that dies on its own ends every wait on the broadcast with its name and error
    /// line, instead of the wait running into its timeout with nothing to say why.
    @Suite(.timeLimit(.minutes(2)))
    struct HierarchyFailFastTests {
        @Test func aShardThatExitsOnItsOwnEndsTheWaitWithItsName() async throws {
            try await EndToEndTests.withHierarchy("fail-fast") { hierarchy, observer in
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch", overrides: ["--no-such-flag": "1"])
                try hierarchy.startCoordinator(rounds: 1, waitForWorkers: 1, roundTimeoutMillis: 2_000)
                do {
                    _ = try await observer.roundSummary(within: .seconds(90), "a round that cannot happen")
                    Issue.record("a round completed without its shard")
                } catch let aborted as BroadcastObserver.Aborted {
                    #expect(aborted.reason.contains("region-watch"), "\(aborted)")
                    #expect(aborted.reason.contains("status 64"), "\(aborted)")
                }
                // A wait that starts after the failure fails at once too.
                await #expect(throws: BroadcastObserver.Aborted.self) {
                    _ = try await observer.runEnd(within: .seconds(90))
                }
            }
        }
    }
}
