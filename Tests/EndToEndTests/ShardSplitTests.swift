import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// Several shards for one device class (DESIGN.md §1): the coordinator splits the class's
    /// cohort between them and the global aggregator combines both partials.
    @Suite(.timeLimit(.minutes(1)))
    struct ShardSplitTests {
        @Test func cohortIsSplitBetweenTwoShardsAndBothPartialsArrive() async throws {
            let roundTimeout = 4_000
            try await EndToEndTests.withHierarchy("shard-split") { hierarchy, observer in
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch", shard: 0)
                try hierarchy.startShard(region: "watch", shard: 1)
                try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 4, firstUser: 0)
                try hierarchy.startCoordinator(rounds: 3, waitForWorkers: 4, roundTimeoutMillis: roundTimeout)
                let cohort = Set(Hierarchy.deviceIds(deviceClass: "watch", devices: 4, firstUser: 0))

                // Both shards announce themselves within a heartbeat; the first round may predate one.
                let (open, openedAt) = try await observer.roundOpen(within: .seconds(30), "a round.open with both watch shards") {
                    $0.body.shards.filter { $0.region == .watch }.count == 2
                }
                let byShard = open.body.members(region: "watch")
                let zero = byShard[0] ?? []
                let one = byShard[1] ?? []
                #expect(!zero.isEmpty && !one.isEmpty, "one shard got the whole cohort: \(byShard)")
                #expect(zero.isDisjoint(with: one))
                #expect(zero.union(one) == cohort)
                #expect(Set(open.body.shards.map(\.endpoint)).count == 2)

                let (summary, _) = try await observer.roundSummary(after: openedAt, within: .milliseconds(roundTimeout * 3), "its round.summary") {
                    $0.roundId == open.body.roundId
                }
                #expect(summary.contributors == cohort.count)
                #expect(summary.participants["watch"] == cohort.count)
                // Closed as soon as both partials were in, not at the deadline.
                #expect(summary.seconds < Double(roundTimeout) / 1_000 / 2)
            }
        }
    }
}
