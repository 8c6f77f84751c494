import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire
import ZeroMQ

extension EndToEndTests {
    /// Edge keys against real processes: an `edge:<class>` key `E` speaks for its hosted devices
    /// `E/<suffix>` over shared sockets, and for nobody else.
    @Suite(.timeLimit(.minutes(2)))
    struct EdgeIdentityTests {
        static let parties: [(name: String, role: String)] = [
            ("edge-w", "edge:watch"), ("edge-v", "edge:watch"),
        ]

        /// Two edge processes share the key `edge-w` (scaled replicas do). In round 2, while the
        /// slow device `edge-w/watch-2` still trains, the attacker — holding `edge-w`'s key —
        /// pushes updates claiming another edge's device (`edge-v/watch-2`) and a bare id
        /// (`watch-2`); a device key (`watch-0`) claims `edge-w/watch-2`. All three are refused
        /// `senderMismatch` at the shard, and `edge-w/watch-2`'s own update still completes the round.
        @Test func anEdgeKeySpeaksOnlyForItsOwnDevices() async throws {
            let hierarchy = try Hierarchy(name: "edge-identity", secure: true, extraParties: Self.parties)
            let keys = try #require(hierarchy.keys)
            let observer = try await hierarchy.observer()
            defer { Task { await observer.stop() } }
            try await hierarchy.diagnosing {
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch", overrides: ["--metrics-port": "\(metricsPort)"])
                try hierarchy.startEdge(
                    name: "edge-w-a",
                    deviceClass: "watch",
                    devices: 2,
                    firstUser: 0,
                    edgeKey: "edge-w"
                )
                try hierarchy.startEdge(
                    name: "edge-w-b",
                    deviceClass: "watch",
                    devices: 1,
                    firstUser: 2,
                    edgeKey: "edge-w",
                    overrides: ["--send-delay-ms": "4000"]
                )
                try hierarchy.startCoordinator(rounds: 3, waitForWorkers: 3, roundTimeoutMillis: 10_000)

                let (first, mark) = try await observer.roundSummary(within: .seconds(40), "round 1 with edge keys")
                #expect(first.contributors == 3)
                let (open, _) = try await observer.roundOpen(after: mark, within: .seconds(10), "the next round.open") {
                    $0.body.roundId > first.roundId
                }
                let members = Set(open.body.shards.flatMap(\.members))
                #expect(members == ["edge-w/watch-0", "edge-w/watch-1", "edge-w/watch-2"])
                let endpoint = try #require(open.body.shards.first { $0.region == .watch }?.endpoint)
                let forge = try #require(UpdateForgery(open: open, region: .watch))
                let enrolment = try Enrolment.load(path: keys.enrolmentPath)
                let shardKey = try #require(enrolment.publicKey(of: "region-watch-0"))
                let stolenEdgeKey = (try keys.keyPair(of: "edge-w"), shardKey)
                try await RawPush.send(
                    [
                        try forge.update(workerId: "edge-v/watch-2", value: 100),
                        try forge.update(workerId: "watch-2", value: 100),
                    ],
                    to: endpoint,
                    curve: stolenEdgeKey
                )
                try await RawPush.send(
                    [try forge.update(workerId: "edge-w/watch-2", value: 100)],
                    to: endpoint,
                    curve: (try keys.keyPair(of: "watch-0"), shardKey)
                )
                _ = try await metrics.waitUntil("three impostors refused", within: .seconds(10)) {
                    $0.rejected(role: "region")["senderMismatch"] == 3
                }
                let (summary, _) = try await observer.roundSummary(
                    after: mark,
                    within: .seconds(25),
                    "the attacked round's summary"
                ) { $0.roundId == open.body.roundId }
                #expect(summary.contributors == 3, "edge-w/watch-2's own update still counts")
                let after = try await metrics.scrape()
                #expect(after.rejected(role: "region") == ["senderMismatch": 3])
            }
            await hierarchy.shutdown()
        }

        /// Revoking an edge key cuts every device under it: after `edge-w` leaves the enrolment
        /// file (the coordinator reloads it), a restarted `edge-w` process — still holding the
        /// key and an old copy of the file — is refused at the handshake and none of its devices
        /// checks in, while the `edge-v` edge keeps its device eligible.
        @Test func aRevokedEdgeKeyIsRefusedAfterTheReload() async throws {
            let hierarchy = try Hierarchy(name: "edge-revoke", secure: true, extraParties: Self.parties)
            let keys = try #require(hierarchy.keys)
            let stale = hierarchy.directory.appendingPathComponent("stale-enrolment.txt").path
            try FileManager.default.copyItem(atPath: keys.enrolmentPath, toPath: stale)
            try await hierarchy.diagnosing {
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                let coordinator = try hierarchy.startCoordinator(
                    rounds: 1,
                    waitForWorkers: 100,
                    roundTimeoutMillis: 10_000,
                    overrides: ["--metrics-port": "\(metricsPort)"]
                )
                let revoked = try hierarchy.startEdge(
                    name: "edge-w",
                    deviceClass: "watch",
                    devices: 2,
                    firstUser: 0,
                    edgeKey: "edge-w"
                )
                try hierarchy.startEdge(
                    name: "edge-v",
                    deviceClass: "watch",
                    devices: 1,
                    firstUser: 5,
                    edgeKey: "edge-v"
                )
                let watch = ["role": "coordinator", "region": "watch"]
                _ = try await metrics.waitUntil("three devices under two edge keys", within: .seconds(20)) {
                    $0.value("fedpulse_eligible_workers", watch) == 3
                }
                try await hierarchy.revoke("edge-w", reloadedBy: coordinator)
                hierarchy.kill(revoked)
                _ = try hierarchy.children.launch(
                    name: "edge-w-again",
                    arguments: [
                        "edge", "--device-class", "watch", "--devices", "2", "--first-user", "10", "--checkin-ms",
                        "300",
                        "--task", "sleep-quality", "--seed", "7", "--curve-secret-key",
                        keys.secretKeyPath(of: "edge-w"),
                        "--enrolment", stale,
                    ] + hierarchy.coordinatorEndpoints
                )
                // The restarted edge's handshakes are refused (it retries), the old devices time
                // out (3 s), and only edge-v's device stays eligible.
                let refused = try await metrics.waitUntil("edge-w refused, edge-v alone", within: .seconds(30)) {
                    $0.value("fedpulse_handshakes_refused_total") >= 2
                        && $0.value("fedpulse_eligible_workers", watch) == 1
                }
                #expect(refused.value("fedpulse_eligible_workers", watch) == 1)
            }
            await hierarchy.shutdown()
        }
    }
}
