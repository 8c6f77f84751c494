import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// Attacks on a live coordinator (issue 8 §3, §4b), each played by the attacker itself: a
    /// passive subscriber, a stranger PUSHing forged candidates, a check-in flood, a careless
    /// operator. The coordinator refuses, counts and logs, and keeps running.
    @Suite(.timeLimit(.minutes(3)))
    struct CoordinatorAttackTests {
        /// Under central DP a passive SUB observer of `round.open` learns nothing about who was
        /// sampled: Poisson self-selection, no seed, each shard's whole population; rounds complete.
        @Test func underCentralDPAPassiveObserverSeesOnlyPopulations() async throws {
            try await EndToEndTests.withHierarchy("coordinator-dp-observer") { hierarchy, observer in
                let ports = try FreePorts.pick(2)
                let events = "tcp://127.0.0.1:\(ports[0])"
                let ledger = "tcp://127.0.0.1:\(ports[1])"
                try hierarchy.children.launch(
                    name: "auditor",
                    arguments: [
                        "auditor", "--events", events, "--ledger", ledger,
                        "--ledger-file", hierarchy.directory.appendingPathComponent("ledger.jsonl").path,
                        "--epsilon-budget", "1000", "--delta", "1e-5", "--accountant", "rdp", "--pld-discretization",
                        "0",
                    ]
                )
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch")
                try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 4, firstUser: 0)
                let population = Set(Hierarchy.deviceIds(deviceClass: "watch", devices: 4, firstUser: 0))
                let rounds = 2
                try hierarchy.startCoordinator(
                    rounds: rounds,
                    waitForWorkers: 4,
                    roundTimeoutMillis: 3_000,
                    overrides: [
                        "--dp": "central", "--clip": "1", "--noise-multiplier": "1.1", "--sampling-rate": "0.5",
                        "--auditor-events": events, "--auditor-ledger": ledger,
                    ]
                )
                let end = try await observer.runEnd(within: .seconds(90))
                #expect(end.reason == "roundLimit")
                #expect(observer.summaries.count == rounds)
                let openings = observer.openings
                try #require(!openings.isEmpty)
                for open in openings {
                    #expect(open.body.selection == .poisson, "round \(open.body.roundId) is \(open.body.selection)")
                    #expect(open.body.samplingSeed == nil, "round \(open.body.roundId) publishes a seed")
                    #expect(open.body.samplingRate == 0.5)
                    #expect(
                        open.body.allMembers == population,
                        "round \(open.body.roundId) lists \(open.body.allMembers), not the population"
                    )
                }
                #expect(
                    observer.summaries.allSatisfy { $0.federatedAccuracy == nil },
                    "a per-device metric was broadcast under DP"
                )
            }
        }

        /// A candidate of finite weights ±3e38 in the global aggregator's name (it trapped the
        /// coordinator) and a stranger's all-zero candidate (it replaced the model) are refused,
        /// counted and logged; the run completes with the real models.
        @Test func forgedCandidatesAreRefusedAndTheRunCompletes() async throws {
            try await EndToEndTests.withHierarchy("coordinator-forged-candidates") { hierarchy, observer in
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch")
                // The slow device keeps the first round open while the forgeries arrive.
                try hierarchy.startEdge(
                    name: "edge-watch",
                    deviceClass: "watch",
                    devices: 2,
                    firstUser: 0,
                    overrides: ["--send-delay-ms": "1500"]
                )
                let rounds = 2
                let coordinator = try hierarchy.startCoordinator(
                    rounds: rounds,
                    waitForWorkers: 2,
                    roundTimeoutMillis: 4_000,
                    overrides: ["--metrics-port": "\(metricsPort)"]
                )
                let (open, _) = try await observer.roundOpen(within: .seconds(30), "the first round.open")
                let count = try #require(open.tensor(named: "weights")).elementCount
                let codec = WireCodec()
                func candidate(_ weights: [Float], sender: String) throws -> [[UInt8]] {
                    var tensor = Tensor.f32le(name: "weights", weights)
                    tensor.sha256 = Digest.sha256Hex(tensor.bytes)
                    let body = ModelCandidate(
                        roundId: open.body.roundId,
                        modelVersion: open.body.modelVersion + 1,
                        modelDigest: tensor.sha256 ?? "",
                        participants: ParticipantCounts(watch: 2),
                        contributors: 2,
                        weightSum: 2,
                        denominator: 2,
                        noiseStd: 0,
                        shardsReported: ["watch/0"],
                        shardsMissing: [],
                        clippedCount: 0
                    )
                    return try codec.encode(body, sender: sender, tensors: [tensor])
                }
                let huge = (0..<count).map { $0 % 2 == 0 ? Float(3e38) : Float(-3e38) }
                try await RawPush.send(
                    [
                        try candidate(huge, sender: "global"),
                        try candidate([Float](repeating: 0, count: count), sender: "mallory"),
                    ],
                    to: hierarchy.control
                )
                let refused = try await metrics.waitUntil("both forged candidates refused", within: .seconds(10)) {
                    $0.rejected(role: "coordinator") == ["overflow": 1, "unauthorizedSender": 1]
                }
                #expect(
                    refused.value("fedpulse_rounds_total", ["role": "coordinator"]) == 0,
                    "a forged candidate completed the round"
                )
                let end = try await observer.runEnd(within: .seconds(60))
                #expect(end.reason == "roundLimit")
                #expect(observer.summaries.count == rounds)
                let logs = try String(contentsOf: coordinator.logFile, encoding: .utf8)
                #expect(
                    logs.contains("reject.reason=overflow") || logs.contains("\"reject.reason\":\"overflow\"")
                        || logs.contains("overflow")
                )
                let checkpoint = try JSONDecoder().decode(
                    CoordinatorCheckpoint.self,
                    from: Data(contentsOf: hierarchy.stateDirectory.appendingPathComponent("checkpoint.json"))
                )
                #expect(checkpoint.weights.contains { $0 != 0 }, "the model is the stranger's all-zero one")
                #expect(checkpoint.weights.allSatisfy { abs($0) < 1e6 })
            }
        }

        /// 8,300 check-ins with 128-character ids made the coordinator's own `round.open` too big
        /// to encode, and the coordinator exit. Now the announcement is cut to fit, the flood
        /// expires, and the run completes.
        @Test func aFloodOfLongIdCheckinsDoesNotEndTheCoordinator() async throws {
            try await EndToEndTests.withHierarchy("coordinator-checkin-flood") { hierarchy, observer in
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch")
                // Timeouts long enough that a loaded machine cannot expire the flood (or the
                // aggregators, whose heartbeats queue behind it) before the coordinator has read it.
                let coordinator = try hierarchy.startCoordinator(
                    rounds: 1,
                    waitForWorkers: 8_000,
                    roundTimeoutMillis: 1_000,
                    overrides: ["--worker-timeout-ms": "15000", "--aggregator-timeout-ms": "10000"]
                )
                let flood = try (0..<8_300).map { index -> [[UInt8]] in
                    let stem = "flood\(index)-"
                    let id = stem + String(repeating: "x", count: 128 - stem.count)
                    let checkin = Checkin(
                        workerId: id,
                        deviceClass: .watch,
                        eligibility: Eligibility(consent: true, charging: true, unmetered: true, batteryPercent: 90),
                        trainExamples: 10,
                        holdoutExamples: 2
                    )
                    return try WireCodec().encode(checkin, sender: id)
                }
                try await RawPush.send(flood, to: hierarchy.control, lingerMillis: 10_000)
                let (open, _) = try await observer.roundOpen(within: .seconds(60), "a round.open for the flood") {
                    $0.body.allMembers.count > 1_000
                }
                #expect(open.body.allMembers.count < 8_300, "the announcement was cut to fit the header")
                #expect(hierarchy.isRunning(coordinator))
                // Honest devices arrive; the flood stops checking in and expires; the run completes.
                try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 2, firstUser: 0)
                let end = try await observer.runEnd(within: .seconds(90))
                #expect(end.reason == "roundLimit")
                #expect(observer.summaries.last?.contributors == 2)
            }
        }

        /// A coordinator under DP without `--state-dir` would replay rounds 1…n against the same
        /// ledger after a restart: it refuses to start, saying why.
        @Test func underDPWithoutAStateDirTheCoordinatorRefusesToStart() async throws {
            let hierarchy = try Hierarchy(name: "coordinator-dp-no-state")
            defer { hierarchy.children.stopAll(grace: .seconds(1)) }
            let coordinator = try hierarchy.children.launch(
                name: "coordinator",
                arguments: [
                    "coordinator", "--broadcast", hierarchy.broadcast, "--control", hierarchy.control, "--rounds", "1",
                    "--dp", "central", "--clip", "1", "--noise-multiplier", "1", "--sampling-rate", "0.5",
                    "--auditor-events", "tcp://127.0.0.1:1", "--auditor-ledger", "tcp://127.0.0.1:2",
                ]
            )
            let status = await hierarchy.children.waitForExit(coordinator, timeout: .seconds(20))
            let log = (try? String(contentsOf: coordinator.logFile, encoding: .utf8)) ?? ""
            #expect(status != nil && status != 0, "the coordinator started under DP without a state directory:\n\(log)")
            #expect(log.contains("--state-dir"), "\(log)")
        }
    }
}
