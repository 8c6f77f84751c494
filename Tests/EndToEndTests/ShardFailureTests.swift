import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// A regional shard that dies (DESIGN.md §9): the global aggregator closes without it at the
    /// deadline, and the next assignment moves its workers to the surviving shard of the class.
    @Suite(.timeLimit(.minutes(1)))
    struct ShardFailureTests {
        @Test func killedShardsDevicesMoveToTheSurvivingShardOfTheirClass() async throws {
            let roundTimeout = EndToEndTests.roundTimeoutMillis
            try await EndToEndTests.withHierarchy("shard-failure") { hierarchy, observer in
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch", shard: 0)
                let doomedShard = try hierarchy.startShard(region: "watch", shard: 1)
                // The send delay keeps each round open long enough to kill watch/1 before its members answer.
                try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 4, firstUser: 0, overrides: ["--send-delay-ms": "600"])
                try hierarchy.startCoordinator(rounds: 6, waitForWorkers: 4, roundTimeoutMillis: roundTimeout)
                let watchDevices = Set(Hierarchy.deviceIds(deviceClass: "watch", devices: 4, firstUser: 0))

                let (open, openedAt) = try await observer.roundOpen(within: .seconds(30), "a round.open using both watch shards") {
                    $0.body.members(region: "watch").keys.sorted() == [0, 1]
                }
                hierarchy.kill(doomedShard)
                try #require(Clock.nowMillis() < open.body.deadlineMillis, "the kill came after the deadline; the test proves nothing")
                let byShard = open.body.members(region: "watch")
                let survivors = byShard[0] ?? []
                let stranded = byShard[1] ?? []

                // The global aggregator closes without watch/1: only watch/0's members count.
                let (summary, summarySequence) = try await observer.roundSummary(
                    after: openedAt, within: .milliseconds(roundTimeout * 4), "the round.summary of the round that lost watch/1"
                ) { $0.roundId == open.body.roundId }
                #expect(summary.contributors == survivors.count)
                #expect(summary.participants["watch"] == survivors.count)
                #expect(summary.seconds >= Double(roundTimeout) / 1_000 * 0.9, "closed before the deadline: it cannot have waited for watch/1")

                // The very next assignment drops watch/1 and moves its devices to watch/0.
                let (next, _) = try await observer.roundOpen(after: openedAt, within: .seconds(10), "the next round.open") {
                    $0.body.roundId > open.body.roundId
                }
                #expect(next.body.members(region: "watch") == [0: watchDevices])
                #expect(stranded.isSubset(of: next.body.members(region: "watch")[0] ?? []))
                let (nextSummary, _) = try await observer.roundSummary(
                    after: summarySequence, within: .milliseconds(roundTimeout * 4), "the round.summary after the move"
                ) { $0.roundId == next.body.roundId }
                #expect(nextSummary.round == summary.round + 1)
                #expect(nextSummary.participants["watch"] == watchDevices.count)
                #expect(nextSummary.contributors == watchDevices.count)
            }
        }
    }
}
