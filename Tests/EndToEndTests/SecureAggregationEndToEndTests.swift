import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire
import ZeroMQ

extension EndToEndTests {
    /// Issue 10 over real processes with CURVE on: SecAgg+ inside a shard, devices killed in
    /// the middle of the protocol, and a device that speaks for another on its DEALER.
    @Suite(.timeLimit(.minutes(2)))
    struct SecureAggregationEndToEndTests {
        static let roundTimeout = 6_000
        static let stageTimeout = 1_200

        /// The coordinator as `Hierarchy.startCoordinator` starts it, plus `--secure-aggregation`
        /// (a flag without a value, which the hierarchy's `flag value` pairs cannot carry).
        static func startCoordinator(_ hierarchy: Hierarchy, rounds: Int, workers: Int, secure: Bool) throws {
            var arguments = [
                "coordinator", "--broadcast", hierarchy.broadcast, "--control", hierarchy.control,
                "--rounds", "\(rounds)", "--wait-for-workers", "\(workers)", "--round-timeout-ms", "\(roundTimeout)",
                "--state-dir", hierarchy.stateDirectory.path, "--aggregator-timeout-ms", "1000",
                "--worker-timeout-ms", "3000", "--republish-ms", "100", "--holdout", "synthetic",
                "--task", "sleep-quality", "--seed", "7",
            ]
            if secure {
                arguments += ["--secure-aggregation", "--secagg-stage-timeout-ms", "\(stageTimeout)"]
            }
            _ = try hierarchy.children.launch(
                name: "coordinator",
                arguments: arguments + hierarchy.securityFlags(for: "coordinator")
            )
        }

        /// One run: a phone shard of 20 devices on 5 edges of 4; the fifth edge holds its
        /// updates back and is SIGKILLed mid-round 1 (in the masked-input stage under SecAgg:
        /// its devices advertised and shared keys, their masked inputs were never sent).
        static func run(secure: Bool) async throws -> (summaries: [RoundSummary], first: RoundSummary) {
            let hierarchy = try Hierarchy(name: secure ? "secagg-kill" : "secagg-plain-kill", secure: true)
            let observer = try await hierarchy.observer()
            defer { Task { await observer.stop() } }
            let result = try await hierarchy.diagnosing {
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "phone", overrides: ["--metrics-port": "\(metricsPort)"])
                var doomed: ChildProcesses.Child?
                for part in 0..<5 {
                    let child = try hierarchy.startEdge(
                        name: "edge-phone-\(part)",
                        deviceClass: "phone",
                        devices: 4,
                        firstUser: part * 4,
                        overrides: part == 4 ? ["--send-delay-ms": "60000"] : [:]
                    )
                    if part == 4 { doomed = child }
                }
                try startCoordinator(hierarchy, rounds: 4, workers: 20, secure: secure)
                let everyone = Set(Hierarchy.deviceIds(deviceClass: "phone", devices: 20, firstUser: 0))
                let (open, _) = try await observer.roundOpen(within: .seconds(40), "round.open of all 20") {
                    $0.body.allMembers == everyone
                }
                if secure {
                    #expect(open.body.secureAggregation != nil)
                    _ = try await metrics.waitUntil("the shard in its masked-input stage", within: .seconds(20)) {
                        $0.value("fedpulse_secagg_stages_opened_total", ["stage": "maskedInput"]) >= 1
                    }
                }
                hierarchy.kill(try #require(doomed))
                let (first, _) = try await observer.roundSummary(within: .seconds(30), "the first round.summary") {
                    $0.roundId == open.body.roundId
                }
                if secure {
                    // Scraped now: the shard exits (and its metrics with it) at the run's end.
                    let snapshot = try await metrics.scrape()
                    #expect(snapshot.value("fedpulse_secagg_failures_total") == 0)
                    #expect(snapshot.rejected(role: "region").isEmpty, "\(snapshot.rejected(role: "region"))")
                }
                _ = try await observer.runEnd(within: .seconds(60))
                return (observer.summaries, first)
            }
            await hierarchy.shutdown()
            return result
        }

        @Test func secureAggregationSurvivesAFifthOfTheDevicesKilledAndMatchesThePlainRun() async throws {
            let secure = try await Self.run(secure: true)
            // The killed edge's 4 devices shared keys and were dropped: their pairwise masks were
            // rebuilt from the survivors' shares and the round completed with the other 16.
            let record = try #require(secure.first.secureAggregation?.first)
            #expect(record.advertised == 20 && record.survivors == 16)
            #expect(secure.first.contributors == 16)
            #expect(secure.summaries.count == 4)
            #expect(secure.summaries.allSatisfy { $0.secureAggregation?.count == 1 })
            let plain = try await Self.run(secure: false)
            #expect(plain.first.contributors == 16 && plain.first.secureAggregation == nil)
            #expect(plain.summaries.count == 4)
            let secureAccuracy = try #require(secure.summaries.last?.accuracy)
            let plainAccuracy = try #require(plain.summaries.last?.accuracy)
            #expect(abs(secureAccuracy - plainAccuracy) <= 0.01, "SecAgg \(secureAccuracy), plain \(plainAccuracy)")
        }

        /// An enrolled device (phone-99) opens a DEALER to the shard's ROUTER with its own key and
        /// advertises keys claiming phone-1: refused `senderMismatch`; as itself it is refused
        /// (`notInCohort`, or `roundClosed` once the key stage is over); the round completes with the four real members.
        @Test func aDeviceClaimingAnotherDevicesIdOnItsDealerIsRefused() async throws {
            let hierarchy = try Hierarchy(
                name: "secagg-forge",
                secure: true,
                extraParties: [("phone-99", "device:phone")]
            )
            let keys = try #require(hierarchy.keys)
            let observer = try await hierarchy.observer()
            defer { Task { await observer.stop() } }
            try await hierarchy.diagnosing {
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "phone", overrides: ["--metrics-port": "\(metricsPort)"])
                try hierarchy.startEdge(name: "edge-phone", deviceClass: "phone", devices: 4, firstUser: 0)
                try Self.startCoordinator(hierarchy, rounds: 2, workers: 4, secure: true)
                let (open, _) = try await observer.roundOpen(within: .seconds(40), "a secure round.open")
                let endpoint = try #require(open.body.shards.first?.secureAggregationEndpoint)
                let enrolment = try Enrolment.load(path: keys.enrolmentPath)
                let shardKey = try #require(enrolment.publicKey(of: "region-phone-0"))
                let forger = try keys.keyPair(of: "phone-99")
                let field = SecAggKeysField(
                    cipherPublicKey: String(repeating: "1a", count: 32),
                    maskPublicKey: String(repeating: "2b", count: 32),
                    seedCommitment: String(repeating: "3c", count: 32)
                )
                let body = SecAggKeys(roundId: open.body.roundId, shard: 0, keys: field)
                try await onOwnThread("secagg-forger") {
                    let context = try Context()
                    let dealer = try Socket(context, type: .dealer)
                    try dealer.setLinger(2_000)
                    try dealer.makeCurveClient(serverPublicKey: shardKey, keys: forger)
                    try dealer.connect(endpoint)
                    _ = try dealer.send(try WireCodec().encode(body, sender: "phone-1"))
                    _ = try dealer.send(try WireCodec().encode(body, sender: "phone-99"))
                }
                // The outsider is refused as not in the cohort while keys are taken, else as late.
                _ = try await metrics.waitUntil("the forgery and the outsider refused", within: .seconds(15)) {
                    let rejected = $0.rejected(role: "region")
                    return rejected["senderMismatch"] == 1
                        && (rejected["notInCohort"] ?? 0) + (rejected["roundClosed"] ?? 0) == 1
                }
                let (summary, _) = try await observer.roundSummary(within: .seconds(40), "the attacked round") {
                    $0.roundId == open.body.roundId
                }
                #expect(summary.contributors == 4)
                #expect(summary.secureAggregation?.first?.survivors == 4)
                #expect(summary.secureAggregation?.first?.advertised == 4, "the forged keys never joined the round")
            }
            await hierarchy.shutdown()
        }
    }
}
