import FedPulseTestSupport
import Foundation
import Learning
import Runtime
import Testing
import Wire
import ZeroMQ

extension EndToEndTests {
    /// Issue 9 against real processes with CURVE on: each test plays a party without the right key.
    @Suite(.timeLimit(.minutes(2)))
    struct TransportSecurityEndToEndTests {
        /// A stranger who learned the shard's public key, a client with no CURVE at all, and an
        /// enrolled device (watch-99) that claims to be watch-2 all push updates into an open round:
        /// the first two never get through the handshake, the impostor is refused `senderMismatch`,
        /// and watch-2's own update is accepted, so the round completes with the whole cohort.
        @Test func strangersAndImpostorsCannotSpeakForADevice() async throws {
            let hierarchy = try Hierarchy(
                name: "curve-shard",
                secure: true,
                extraParties: [("watch-99", "device:watch")]
            )
            let keys = try #require(hierarchy.keys)
            let observer = try await hierarchy.observer()
            defer { Task { await observer.stop() } }
            try await hierarchy.diagnosing {
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch", overrides: ["--metrics-port": "\(metricsPort)"])
                try hierarchy.startEdge(name: "edge-watch-quick", deviceClass: "watch", devices: 2, firstUser: 0)
                try hierarchy.startEdge(
                    name: "edge-watch-slow",
                    deviceClass: "watch",
                    devices: 1,
                    firstUser: 2,
                    overrides: ["--send-delay-ms": "4000"]
                )
                try hierarchy.startCoordinator(rounds: 3, waitForWorkers: 3, roundTimeoutMillis: 10_000)

                let (first, mark) = try await observer.roundSummary(
                    within: .seconds(40),
                    "round.summary of round 1 over CURVE"
                )
                #expect(first.contributors == 3)
                let (open, _) = try await observer.roundOpen(after: mark, within: .seconds(10), "the next round.open") {
                    $0.body.roundId > first.roundId
                }
                let endpoint = try #require(open.body.shards.first { $0.region == .watch }?.endpoint)
                let forge = try #require(UpdateForgery(open: open, region: .watch))
                let enrolment = try Enrolment.load(path: keys.enrolmentPath)
                let shardKey = try #require(enrolment.publicKey(of: "region-watch-0"))
                let accepted: [String: String] = ["role": "region", "region": "watch"]
                let before = try await metrics.scrape().value("fedpulse_updates_accepted_total", accepted)

                let stranger = try CurveKeyPair.generate()
                try await RawPush.send(
                    [try forge.update(workerId: "watch-2", value: 100)],
                    to: endpoint,
                    lingerMillis: 500,
                    curve: (stranger, shardKey)
                )
                try await RawPush.send(
                    [try forge.update(workerId: "watch-2", value: 100)],
                    to: endpoint,
                    lingerMillis: 500
                )
                let insider = (try keys.keyPair(of: "watch-99"), shardKey)
                try await RawPush.send(
                    [try forge.update(workerId: "watch-2", value: 100)],
                    to: endpoint,
                    curve: insider
                )
                try await RawPush.send([try forge.update(workerId: "watch-99")], to: endpoint, curve: insider)

                let attacked = try await metrics.waitUntil(
                    "the impostor and the outsider refused",
                    within: .seconds(10)
                ) {
                    $0.rejected(role: "region")["senderMismatch"] == 1
                        && $0.rejected(role: "region")["notInCohort"] == 1
                        && $0.value("fedpulse_handshakes_refused_total") >= 1
                }
                #expect(
                    attacked.value("fedpulse_updates_accepted_total", accepted) < before + 3,
                    "watch-2 has not answered yet"
                )
                let (summary, _) = try await observer.roundSummary(
                    after: mark,
                    within: .seconds(25),
                    "the attacked round's summary"
                ) {
                    $0.roundId == open.body.roundId
                }
                #expect(summary.contributors == 3, "watch-2's own update still counts")
                let after = try await metrics.scrape()
                #expect(after.rejected(role: "region").keys.sorted() == ["notInCohort", "senderMismatch"])
            }
            await hierarchy.shutdown()
        }

        /// An enrolled device forges the coordinator's messages to the auditor: claiming to be the
        /// coordinator fails at the loop (`senderMismatch`), speaking as itself fails the auditor's
        /// rule (`unauthorizedSender`); the ledger holds nothing but its header.
        @Test func aDeviceKeyCannotProposeOrCompleteRounds() async throws {
            let hierarchy = try Hierarchy(name: "curve-auditor", secure: true)
            let keys = try #require(hierarchy.keys)
            try await hierarchy.diagnosing {
                let ports = try FreePorts.pick(3)
                let events = "tcp://127.0.0.1:\(ports[0])"
                let ledgerFile = hierarchy.directory.appendingPathComponent("ledger.jsonl").path
                _ = try hierarchy.children.launch(
                    name: "auditor",
                    arguments: [
                        "auditor", "--events", events, "--ledger", "tcp://127.0.0.1:\(ports[1])", "--ledger-file",
                        ledgerFile,
                        "--epsilon-budget", "8", "--delta", "1e-5", "--metrics-port", "\(ports[2])",
                    ] + hierarchy.securityFlags(for: "auditor")
                )
                let metrics = PrometheusScraper(port: ports[2])
                _ = try await metrics.waitUntil("the auditor serving metrics", within: .seconds(20)) { _ in true }
                let enrolment = try Enrolment.load(path: keys.enrolmentPath)
                let device = (try keys.keyPair(of: "watch-0"), try #require(enrolment.publicKey(of: "auditor")))
                let codec = WireCodec()
                let proposal = RoundProposal(
                    roundId: 1,
                    samplingRate: 1,
                    noiseMultiplier: 0.5,
                    clipNorm: 1,
                    placement: .central,
                    expectedCohort: 10,
                    population: 10,
                    selected: []
                )
                let completed = RoundCompleted(
                    roundId: 1,
                    modelVersion: 1,
                    modelDigest: String(repeating: "0", count: 64),
                    participants: ParticipantCounts(watch: 10),
                    contributors: 10,
                    clippedCount: 0,
                    effectiveNoiseMultiplier: 0
                )
                try await RawPush.send(
                    [
                        try codec.encode(proposal, sender: "coordinator"),
                        try codec.encode(completed, sender: "coordinator"),
                        try codec.encode(completed, sender: "watch-0"),
                    ],
                    to: events,
                    curve: device
                )
                _ = try await metrics.waitUntil("the forgeries refused", within: .seconds(10)) {
                    $0.rejected(role: "auditor") == ["senderMismatch": 2, "unauthorizedSender": 1]
                }
                let lines = try String(contentsOfFile: ledgerFile, encoding: .utf8).split(separator: "\n")
                #expect(lines.count == 1, "only the header: nothing approved, nothing spent")
            }
            await hierarchy.shutdown()
        }

        /// The same federation with and without CURVE (same seed, no DP so the cohorts are the
        /// same): encryption changes nothing in what is learned.
        @Test func aCurveDemoConvergesAsTheInsecureOneDoes() async throws {
            func run(insecure: Bool) async throws -> DemoOutcome {
                let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "fedpulse-e2e/curve-demo-\(insecure)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
                )
                var config = DemoConfig(
                    executable: try FedPulseBinary.locate(),
                    reportDirectory: root,
                    spec: try ModelSpec.wearable(task: .sleepQuality),
                    generator: SyntheticWearables(task: .sleepQuality, seed: 7)
                )
                config.rounds = 4
                config.devicesPerClass = 4
                config.insecure = insecure
                config.progress = { _ in }
                return try await EndToEndTests.runDemo(config)
            }
            let secure = try await run(insecure: false)
            let insecure = try await run(insecure: true)
            #expect(secure.transport == "curve" && insecure.transport == "insecure")
            #expect(secure.rounds.count == 4 && insecure.rounds.count == 4)
            let (a, b) = (try #require(secure.finalAccuracy), try #require(insecure.finalAccuracy))
            #expect(abs(a - b) <= 0.01, "CURVE \(a) vs insecure \(b)")
        }
    }
}
