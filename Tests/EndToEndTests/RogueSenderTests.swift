import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// A peer PUSHing garbage to a shard (DESIGN.md §3, §9): every bad message is rejected with
    /// its reason counted, the shard keeps running, and the honest round is unaffected.
    @Suite(.timeLimit(.minutes(1)))
    struct RogueSenderTests {
        /// The shard's message limit (ZMQ_MAXMSGSIZE per frame, and the decoder's total).
        static let maxMessageBytes = 65_536

        @Test func everyBadUpdateIsRejectedAndCountedWhileTheHonestRoundCompletes() async throws {
            // The slow honest device keeps the round open while the rogue acts.
            let sendDelay = 4_000
            let roundTimeout = 10_000
            try await EndToEndTests.withHierarchy("rogue-sender") { hierarchy, observer in
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try hierarchy.startGlobal()
                _ = try hierarchy.startShard(
                    region: "watch",
                    overrides: ["--metrics-port": "\(metricsPort)", "--max-message-bytes": "\(Self.maxMessageBytes)"]
                )
                try hierarchy.startEdge(name: "edge-watch-quick", deviceClass: "watch", devices: 2, firstUser: 0)
                try hierarchy.startEdge(
                    name: "edge-watch-slow", deviceClass: "watch", devices: 1, firstUser: 2, overrides: ["--send-delay-ms": "\(sendDelay)"]
                )
                // Three rounds: the attacked round is the second, so the shard is still serving
                // `/metrics` (it exits at run end) while the checks below scrape it.
                try hierarchy.startCoordinator(rounds: 3, waitForWorkers: 3, roundTimeoutMillis: roundTimeout)
                let cohort: Set<String> = ["watch-0", "watch-1", "watch-2"]

                // Round 2 or later, so that "an earlier round" exists.
                let (first, firstSequence) = try await observer.roundSummary(within: .seconds(30), "round.summary of round 1")
                let (open, _) = try await observer.roundOpen(after: firstSequence, within: .seconds(10), "the round.open after round 1") {
                    $0.body.roundId > first.roundId
                }
                try #require(open.body.allMembers == cohort)
                let endpoint = try #require(open.body.shards.first { $0.region == .watch && $0.shard == 0 }?.endpoint)
                let forge = try #require(UpdateForgery(open: open, region: .watch))
                let acceptedBefore = Double(first.contributors)
                let accepted: [String: String] = ["role": "region", "region": "watch"]

                // The two quick members have answered; the slow one has not.
                _ = try await metrics.waitUntil("the quick members' updates accepted", within: .seconds(5)) {
                    $0.value("fedpulse_updates_accepted_total", accepted) == acceptedBefore + 2
                }

                // Over ZMQ_MAXMSGSIZE: libzmq drops it (and the connection) before the shard sees it.
                let huge = try forge.update(workerId: "watch-2", elements: Self.maxMessageBytes / 4 + 1_000)
                try await RawPush.send([huge], to: endpoint, lingerMillis: 1_000)

                let pending = "watch-2"
                let rogue: [(reason: String, frames: [[UInt8]])] = [
                    ("frameCountMismatch", [Array("update".utf8)]),
                    ("unknownTopic", [Array("nonsense".utf8), Array("{}".utf8)]),
                    ("malformedHeader", [Array("update".utf8), Array("{\"schema\": \"fedpulse.update.v1\", ".utf8)]),
                    // Passes ZMQ (every frame is small) but not the decoder's total or frame-count limit.
                    ("oversized", try forge.extraFrames(workerId: pending, count: 2).enumerated().map { index, frame in
                        index >= 3 ? [UInt8](repeating: 0, count: Self.maxMessageBytes / 2) : frame
                    }),
                    ("oversized", try forge.extraFrames(workerId: pending, count: 9)),
                    ("staleRound", try forge.update(workerId: pending, roundId: open.body.roundId - 1)),
                    ("wrongModelVersion", try forge.update(workerId: pending, modelVersion: open.body.modelVersion + 1)),
                    ("duplicate", try forge.update(workerId: "watch-0", value: 1_000)),
                    ("nonFinite", try forge.nonFinite(workerId: pending)),
                    ("shapeMismatch", try forge.update(workerId: pending, elements: forge.parameterCount + 1)),
                    ("byteLengthMismatch", try forge.wrongFrameLength(workerId: pending)),
                    ("notInCohort", try forge.update(workerId: "watch-99")),
                ]
                try await RawPush.send(rogue.map(\.frames), to: endpoint)
                let expected = Dictionary(rogue.map { ($0.reason, 1) }, uniquingKeysWith: +)
                let attacked = try await metrics.waitUntil("every rogue message rejected with its reason", within: .seconds(5)) {
                    $0.rejected(role: "region") == expected
                }
                // All of it happened while the round was open: the slow member has still not answered.
                #expect(attacked.value("fedpulse_updates_accepted_total", accepted) == acceptedBefore + 2)
                #expect(Clock.nowMillis() < open.body.deadlineMillis)

                // The shard keeps serving: it takes the slow member's honest update after the attack
                // (waited on by scraping, never by asking whether the process is alive).
                let after = try await metrics.waitUntil("the slow member's update accepted after the attack", within: .milliseconds(roundTimeout * 2)) {
                    $0.value("fedpulse_updates_accepted_total", accepted) >= acceptedBefore + Double(cohort.count)
                }
                #expect(after.rejected(role: "region") == expected, "rejections after the round: \(after.rejected(role: "region"))")
                // The honest round completes with the whole cohort.
                let (summary, _) = try await observer.roundSummary(after: firstSequence, within: .milliseconds(roundTimeout * 2), "round.summary of the attacked round") {
                    $0.roundId == open.body.roundId
                }
                #expect(summary.contributors == cohort.count)
                #expect(summary.participants["watch"] == cohort.count)
            }
        }
    }
}
