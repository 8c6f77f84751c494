import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// A rogue PUSHing partials to the live global aggregator (issue 8 §4b): a forged partial
    /// took a shard's slot and the real one was refused as a duplicate; a partial claiming 2^62
    /// contributors trapped the process. Now both are refused and the shard's own partial counts.
    @Suite(.timeLimit(.minutes(2)))
    struct GlobalAttackTests {
        @Test func aForgedPartialDoesNotTakeTheShardsSlot() async throws {
            let sendDelay = 4_000
            let roundTimeout = 12_000
            try await EndToEndTests.withHierarchy("global-forgery") { hierarchy, observer in
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try hierarchy.startGlobal(overrides: ["--metrics-port": "\(metricsPort)"])
                try hierarchy.startShard(region: "watch")
                try hierarchy.startEdge(name: "edge-watch-quick", deviceClass: "watch", devices: 2, firstUser: 0)
                try hierarchy.startEdge(
                    name: "edge-watch-slow",
                    deviceClass: "watch",
                    devices: 1,
                    firstUser: 2,
                    overrides: ["--send-delay-ms": "\(sendDelay)"]
                )
                try hierarchy.startCoordinator(rounds: 3, waitForWorkers: 3, roundTimeoutMillis: roundTimeout)
                let (_, open, mark) = try await observer.secondRoundOpen(
                    firstWithin: .seconds(40),
                    openWithin: .seconds(10)
                )
                let forge = try #require(UpdateForgery(open: open, region: .watch))
                // The slow member has not answered, so the shard has not sent its partial yet.
                let forged: [(reason: String, frames: [[UInt8]])] = [
                    // A stranger's partial for watch/0, one contributor, a sum that would wreck the model.
                    ("unauthorizedSender", try forge.partial(members: ["watch-0"], value: 1_000, sender: "watch-0")),
                    // Under the shard's own name (no transport proof yet) but more contributors than assigned.
                    (
                        "overflow",
                        try forge.partial(members: ["watch-0"], contributors: 1 << 62, sender: "region-watch-0")
                    ),
                ]
                try await RawPush.send(forged.map(\.frames), to: open.body.globalEndpoint)
                let expected = Dictionary(forged.map { ($0.reason, 1) }, uniquingKeysWith: +)
                let attacked = try await metrics.waitUntil("both forged partials refused", within: .seconds(5)) {
                    $0.rejected(role: "global") == expected
                }
                #expect(attacked.rejected(role: "global") == expected)
                #expect(Clock.nowMillis() < open.body.deadlineMillis, "the attack must land while the round is open")

                // The shard's real partial is combined: all three members, not the forger's one.
                let (summary, _) = try await observer.roundSummary(
                    after: mark,
                    within: .seconds(20),
                    "the attacked round's summary"
                ) {
                    $0.roundId == open.body.roundId
                }
                #expect(summary.contributors == 3)
                let after = try await metrics.scrape()
                #expect(
                    after.rejected(role: "global") == expected,
                    "a duplicate here would mean the forgery took the slot"
                )
            }
        }
    }
}
