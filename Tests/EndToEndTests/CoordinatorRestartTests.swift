import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// A coordinator killed mid-run and restarted with the same `--state-dir` (DESIGN.md §9):
    /// it resumes from its checkpoint, with no round counted twice or skipped.
    @Suite(.timeLimit(.minutes(1)))
    struct CoordinatorRestartTests {
        @Test func killedCoordinatorResumesAtTheNextRoundWithTheCheckpointedModel() async throws {
            let roundTimeout = EndToEndTests.roundTimeoutMillis
            try await EndToEndTests.withHierarchy("coordinator-restart") { hierarchy, observer in
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch")
                // The send delay keeps each round open long enough to kill the coordinator inside one.
                try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 3, firstUser: 0, overrides: ["--send-delay-ms": "500"])
                let rounds = 4
                let coordinator = try hierarchy.startCoordinator(rounds: rounds, waitForWorkers: 3, roundTimeoutMillis: roundTimeout)

                let (second, secondSequence) = try await observer.roundSummary(within: .seconds(30), "round.summary of round 2") { $0.round == 2 }
                let (interrupted, _) = try await observer.roundOpen(after: secondSequence, within: .seconds(10), "the round.open after round 2") {
                    $0.body.roundId > second.roundId
                }
                hierarchy.kill(coordinator)
                try #require(Clock.nowMillis() < interrupted.body.deadlineMillis, "the kill came after the deadline")
                let lastSeen = try #require(observer.summaries.last?.round)
                #expect(lastSeen == 2, "a round.summary arrived after the interrupted round opened")

                // What the coordinator left on disk: completed rounds and the model of the next round.
                let checkpointFile = hierarchy.stateDirectory.appendingPathComponent("checkpoint.json")
                let checkpoint = try JSONDecoder().decode(CoordinatorCheckpoint.self, from: Data(contentsOf: checkpointFile))
                let checkpointDigest = Digest.sha256Hex(Tensor.f32le(name: "weights", checkpoint.weights).bytes)
                #expect(checkpoint.completedRounds == lastSeen)
                #expect(checkpoint.modelVersion == interrupted.body.modelVersion)
                #expect(checkpointDigest == interrupted.body.modelDigest)

                let restartMark = observer.mark
                try hierarchy.startCoordinator(name: "coordinator-restarted", rounds: rounds, waitForWorkers: 3, roundTimeoutMillis: roundTimeout)
                let (resumed, _) = try await observer.roundOpen(after: restartMark, within: .seconds(30), "the first round.open after the restart")
                #expect(resumed.body.modelVersion == checkpoint.modelVersion)
                #expect(resumed.body.modelDigest == checkpointDigest)
                #expect(resumed.tensor(named: "weights").map { Digest.sha256Hex($0.bytes) } == checkpointDigest)
                // The round id is checkpointed when a round opens, so a restart never reuses it
                // (workers and aggregators dedupe by round id and would ignore a reused one).
                #expect(resumed.body.roundId > interrupted.body.roundId)

                let (next, _) = try await observer.roundSummary(
                    after: restartMark, within: .milliseconds(roundTimeout * 6), "the first round.summary after the restart"
                )
                #expect(next.round == lastSeen + 1)
                #expect(next.modelVersion == checkpoint.modelVersion + 1)

                let end = try await observer.runEnd(after: restartMark, within: .milliseconds(roundTimeout * 6 * rounds))
                #expect(end.reason == "roundLimit")
                #expect(end.finalRound == rounds)
                // Every round exactly once, in order, each advancing the model by one version.
                let summaries = observer.summaries
                #expect(summaries.map(\.round) == Array(1...rounds))
                #expect(summaries.map(\.modelVersion) == Array(1...rounds))
                #expect(summaries.allSatisfy { $0.contributors == 3 })
                let ids = summaries.map(\.roundId)
                #expect(ids == ids.sorted() && Set(ids).count == ids.count, "round ids \(ids)")
            }
        }
    }
}
