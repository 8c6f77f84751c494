import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// A rogue PUSHing forged updates to a live shard (issue 8 §2, §4, §4b): each is refused
    /// with its reason while the round is open, the device's real update still gets in, and the
    /// shard keeps serving. The rogue plays the attacker: it builds and sends the bytes itself.
    @Suite(.timeLimit(.minutes(2)))
    struct ShardAttackTests {
        /// The slow member keeps the attacked round open while the rogue acts.
        static let sendDelay = 4_000
        static let roundTimeout = 20_000
        static let accepted: [String: String] = ["role": "region", "region": "watch"]

        /// What every test here needs: a live shard with `/metrics`, `quick` members that answer at
        /// once and `slow` ones that answer after ``sendDelay``, and the second round's `round.open`.
        struct Attacked: Sendable {
            let metrics: PrometheusScraper
            let open: Message<RoundOpen>
            let endpoint: String
            let forge: UpdateForgery
            let acceptedBefore: Double
            let mark: Int
        }

        static func attackSecondRound(
            _ hierarchy: Hierarchy,
            _ observer: BroadcastObserver,
            quick: Int,
            slow: Int,
            earlyBufferBytes: Int = 64 << 20
        ) async throws -> Attacked {
            let metricsPort = try FreePorts.pick(1)[0]
            try hierarchy.startGlobal()
            try hierarchy.startShard(
                region: "watch",
                overrides: ["--metrics-port": "\(metricsPort)", "--early-buffer-bytes": "\(earlyBufferBytes)"]
            )
            try hierarchy.startEdge(name: "edge-watch-quick", deviceClass: "watch", devices: quick, firstUser: 0)
            try hierarchy.startEdge(
                name: "edge-watch-slow",
                deviceClass: "watch",
                devices: slow,
                firstUser: quick,
                overrides: ["--send-delay-ms": "\(sendDelay)"]
            )
            // Three rounds: the attacked one is the second, so the shard still serves `/metrics`
            // (it exits at run end) while the checks scrape it.
            try hierarchy.startCoordinator(rounds: 3, waitForWorkers: quick + slow, roundTimeoutMillis: roundTimeout)
            let (first, open, mark) = try await observer.secondRoundOpen(
                firstWithin: .seconds(40),
                openWithin: .seconds(10)
            )
            try #require(open.body.allMembers.count == quick + slow)
            let endpoint = try #require(open.body.shards.first { $0.region == .watch && $0.shard == 0 }?.endpoint)
            let forge = try #require(UpdateForgery(open: open, region: .watch))
            let metrics = PrometheusScraper(port: metricsPort)
            let before = Double(first.contributors)
            _ = try await metrics.waitUntil("the quick members' updates accepted", within: .seconds(20)) {
                $0.value("fedpulse_updates_accepted_total", accepted) == before + Double(quick)
            }
            return Attacked(
                metrics: metrics,
                open: open,
                endpoint: endpoint,
                forge: forge,
                acceptedBefore: before,
                mark: mark
            )
        }

        /// Today a forged update with a wrong digest, `shard: 7` or `deviceClass: phone` is summed
        /// and takes the device's slot, so its real update is refused as a duplicate.
        @Test func forgedUpdatesDoNotTakeTheDevicesSlot() async throws {
            try await EndToEndTests.withHierarchy("shard-forgery") { hierarchy, observer in
                let attack = try await Self.attackSecondRound(hierarchy, observer, quick: 2, slow: 1)
                let target = "watch-2"
                let forge = attack.forge
                let forged: [(reason: String, frames: [[UInt8]])] = [
                    (
                        "digestMismatch",
                        try forge.update(workerId: target, value: 50, sha256: String(repeating: "0", count: 64))
                    ),
                    ("wrongShard", try forge.update(workerId: target, value: 50, shard: 7)),
                    ("wrongDeviceClass", try forge.update(workerId: target, value: 50, deviceClass: .phone)),
                    ("unauthorizedSender", try forge.update(workerId: target, value: 50, sender: "watch-0")),
                ]
                try await RawPush.send(forged.map(\.frames), to: attack.endpoint)
                let expected = Dictionary(forged.map { ($0.reason, 1) }, uniquingKeysWith: +)
                let attacked = try await attack.metrics.waitUntil(
                    "every forgery refused with its reason",
                    within: .seconds(15)
                ) {
                    $0.rejected(role: "region") == expected
                }
                #expect(attacked.value("fedpulse_updates_accepted_total", Self.accepted) == attack.acceptedBefore + 2)
                #expect(
                    Clock.nowMillis() < attack.open.body.deadlineMillis,
                    "the attack must land while the round is open"
                )

                // The device's own update is taken, not refused as a duplicate.
                let after = try await attack.metrics.waitUntil(
                    "watch-2's real update accepted",
                    within: .seconds(Double(Self.roundTimeout) / 1_000)
                ) {
                    $0.value("fedpulse_updates_accepted_total", Self.accepted) >= attack.acceptedBefore + 3
                }
                // No duplicate: the real update was not refused, so no forgery held its slot.
                #expect(after.rejected(role: "region") == expected)
                let (summary, _) = try await observer.roundSummary(
                    after: attack.mark,
                    within: .seconds(20),
                    "the attacked round's summary"
                ) {
                    $0.roundId == attack.open.body.roundId
                }
                #expect(summary.contributors == 3)
            }
        }

        /// Two updates with `metrics.examples` 2^62 used to trap a shard, and two deltas of 3.4e38
        /// made it exit (`nonFinite: tensor sum`) losing the honest updates. Now the second of
        /// each is refused `overflow` before it is added, and the round completes with the rest.
        ///
        /// The first of each pair is accepted: until transport authentication it is a valid
        /// update under a member's name (the documented impersonation limit), and the slot it
        /// takes is that member's. A zero delta claiming weight 1e38 keeps the model finite.
        @Test func overflowingUpdatesAreRefusedAndTheRoundCompletesWithTheHonestOnes() async throws {
            try await EndToEndTests.withHierarchy("shard-overflow") { hierarchy, observer in
                let attack = try await Self.attackSecondRound(hierarchy, observer, quick: 2, slow: 4)
                let forge = attack.forge
                let huge = MetricsSummary(examples: 1 << 62, loss: 0.5, accuracy: 0.5)
                try await RawPush.send(
                    [
                        try forge.update(workerId: "watch-2", value: 0, weight: 1e38, metrics: huge),
                        try forge.update(workerId: "watch-3", value: 3.4e38, weight: 1),
                        try forge.update(workerId: "watch-4", value: 3.4e38, weight: 1),
                        try forge.update(workerId: "watch-5", value: 0, weight: 1, metrics: huge),
                    ],
                    to: attack.endpoint
                )
                let attacked = try await attack.metrics.waitUntil("two overflows refused", within: .seconds(15)) {
                    $0.rejected(role: "region")["overflow"] == 2
                }
                #expect(attacked.value("fedpulse_updates_accepted_total", Self.accepted) == attack.acceptedBefore + 4)
                #expect(
                    Clock.nowMillis() < attack.open.body.deadlineMillis,
                    "the attack must land while the round is open"
                )

                // watch-4 and watch-5 still get in; watch-2 and watch-3 find their slots taken.
                let after = try await attack.metrics.waitUntil(
                    "the slow members answered",
                    within: .seconds(Double(Self.roundTimeout) / 1_000)
                ) {
                    // Both: the four slow members answer at about the same time, so a scrape can
                    // see the two duplicates before the two acceptances.
                    $0.rejected(role: "region") == ["overflow": 2, "duplicate": 2]
                        && $0.value("fedpulse_updates_accepted_total", Self.accepted) >= attack.acceptedBefore + 6
                }
                // At least: the next round's quick members may already be in.
                #expect(after.value("fedpulse_updates_accepted_total", Self.accepted) >= attack.acceptedBefore + 6)
                let (summary, _) = try await observer.roundSummary(
                    after: attack.mark,
                    within: .seconds(20),
                    "the attacked round's summary"
                ) {
                    $0.roundId == attack.open.body.roundId
                }
                #expect(summary.contributors == 6)
            }
        }

        /// 16 updates of 32 MiB for round r+1 grew a shard by about 530 MiB. Now the early buffer
        /// holds at most `--early-buffer-bytes`; the rest is refused `bufferFull`, and the shard
        /// goes on to complete both rounds.
        @Test func aFloodOfEarlyUpdatesIsRefusedPastTheByteBound() async throws {
            let bound = 65_536
            try await EndToEndTests.withHierarchy("shard-early-flood") { hierarchy, observer in
                let attack = try await Self.attackSecondRound(
                    hierarchy,
                    observer,
                    quick: 2,
                    slow: 1,
                    earlyBufferBytes: bound
                )
                let next = attack.open.body.roundId + 1
                // 16 KiB of delta each, for a round nobody announced yet.
                let flood = try (0..<16).map { index in
                    try attack.forge.update(workerId: "watch-\(index % 2)", roundId: next, elements: 4_096, value: 1)
                }
                let size = flood[0].reduce(0) { $0 + $1.count }
                try await RawPush.send(flood, to: attack.endpoint)
                let refused = 16 - bound / size
                let attacked = try await attack.metrics.waitUntil(
                    "the flood past the bound refused",
                    within: .seconds(15)
                ) {
                    $0.rejected(role: "region")["bufferFull"] == refused
                }
                #expect(attacked.rejected(role: "region")["bufferFull"] == refused)

                // The attacked round and the next complete with the honest cohort; the buffered
                // forgeries have the wrong shape and never take a slot.
                let (summary, sequence) = try await observer.roundSummary(
                    after: attack.mark,
                    within: .seconds(20),
                    "the attacked round's summary"
                ) {
                    $0.roundId == attack.open.body.roundId
                }
                #expect(summary.contributors == 3)
                let (last, _) = try await observer.roundSummary(
                    after: sequence,
                    within: .seconds(20),
                    "the next round's summary"
                ) {
                    $0.roundId == next
                }
                #expect(last.contributors == 3)
            }
        }
    }
}
