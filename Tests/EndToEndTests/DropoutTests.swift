import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// Workers that vanish mid-round (DESIGN.md §9): the shards close at the deadline with the
    /// rest, the round completes, and the next one runs.
    @Suite(.timeLimit(.minutes(1)))
    struct DropoutTests {
        @Test func roundCompletesAtTheDeadlineWhenAThirdOfTheCohortIsKilledMidRound() async throws {
            let roundTimeout = EndToEndTests.roundTimeoutMillis
            try await EndToEndTests.withHierarchy("dropouts") { hierarchy, observer in
                try hierarchy.startGlobal()
                for region in ["watch", "phone", "tablet"] { try hierarchy.startShard(region: region) }
                // Survivors answer at once; the doomed hold their update back far past the deadline,
                // so when they are killed they have provably not answered yet.
                let layout: [(name: String, region: String, devices: Int, firstUser: Int, doomed: Bool)] = [
                    ("edge-watch", "watch", 2, 0, false), ("edge-watch-doomed", "watch", 2, 2, true),
                    ("edge-phone", "phone", 3, 4, false), ("edge-phone-doomed", "phone", 1, 7, true),
                    ("edge-tablet", "tablet", 3, 8, false), ("edge-tablet-doomed", "tablet", 1, 11, true),
                ]
                var doomed: [ChildProcesses.Child] = []
                var doomedIds: Set<String> = []
                var survivorIds: Set<String> = []
                for edge in layout {
                    let child = try hierarchy.startEdge(
                        name: edge.name, deviceClass: edge.region, devices: edge.devices, firstUser: edge.firstUser,
                        overrides: edge.doomed ? ["--send-delay-ms": "60000"] : [:]
                    )
                    let ids = Hierarchy.deviceIds(deviceClass: edge.region, devices: edge.devices, firstUser: edge.firstUser)
                    if edge.doomed {
                        doomed.append(child)
                        doomedIds.formUnion(ids)
                    } else {
                        survivorIds.formUnion(ids)
                    }
                }
                try hierarchy.startCoordinator(
                    rounds: 3, waitForWorkers: 12, roundTimeoutMillis: roundTimeout,
                    overrides: ["--worker-timeout-ms": "1500"]
                )

                // The first round that selects every device (all three shards live), doomed included.
                let everyone = doomedIds.union(survivorIds)
                let (open, openedAt) = try await observer.roundOpen(within: .seconds(30), "a round.open selecting all 12 devices") {
                    $0.body.allMembers == everyone
                }
                for child in doomed { hierarchy.kill(child) }
                // Killed while the round was open: 4 of 12 selected devices (33 %).
                try #require(Clock.nowMillis() < open.body.deadlineMillis, "the kill came after the deadline; the test proves nothing")
                #expect(Double(doomedIds.count) / Double(everyone.count) >= 0.3)

                let (summary, summarySequence) = try await observer.roundSummary(
                    after: openedAt, within: .milliseconds(roundTimeout * 4), "the round.summary of the round with dropouts"
                ) { $0.roundId == open.body.roundId }
                #expect(summary.contributors == survivorIds.count)
                #expect(summary.participants.counts == ["watch": 2, "phone": 3, "tablet": 3])
                // The shards closed at the deadline, not before: they waited for the missing members.
                #expect(summary.seconds >= Double(roundTimeout) / 1_000 * 0.9)

                // The next round runs, without the dead devices (they stopped checking in).
                let (next, _) = try await observer.roundOpen(after: summarySequence, within: .seconds(10), "the next round.open") {
                    $0.body.roundId > open.body.roundId
                }
                #expect(next.body.allMembers == survivorIds)
                let (nextSummary, _) = try await observer.roundSummary(
                    after: summarySequence, within: .milliseconds(roundTimeout * 4), "the next round.summary"
                ) { $0.roundId == next.body.roundId }
                #expect(nextSummary.round == summary.round + 1)
                #expect(nextSummary.contributors == survivorIds.count)
                #expect(nextSummary.modelVersion == summary.modelVersion + 1)
            }
        }
    }
}
