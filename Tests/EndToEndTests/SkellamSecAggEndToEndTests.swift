import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// Issue 10's "privacy that composes" over real processes with CURVE on: `--dp skellam`
    /// under `--secure-aggregation`, an auditor, and an edge SIGKILLed while the shard waits for
    /// masked inputs. The auditor must settle that round at the survivors the shard counted.
    @Suite(.timeLimit(.minutes(3)))
    struct SkellamSecAggEndToEndTests {
        static let clip = 0.5
        static let scale = 2048.0
        static let variance = 122_112.0
        static let minimumSurvivors = 8
        static let delta = 1e-5
        static let rounds = 4

        /// The auditor's ε for one round of these numbers at `survivors`, from `fedpulse privacy
        /// skellam` (the planning arithmetic the auditor charges with; this target does not link
        /// the Privacy module).
        static func plannedEpsilon(_ hierarchy: Hierarchy, survivors: Int, dimension: Int) async throws -> Double {
            let child = try hierarchy.children.launch(
                name: "plan-\(survivors)",
                arguments: [
                    "privacy", "skellam", "--clip", "\(clip)", "--scale", "\(scale)", "--dimension", "\(dimension)",
                    "--survivors", "\(survivors)", "--rounds", "1", "--delta", "\(delta)", "--device-variance",
                    "\(variance)", "--json",
                ]
            )
            let status = await hierarchy.children.waitForExit(child, timeout: .seconds(30))
            #expect(status == 0)
            let output = try Data(contentsOf: child.logFile)
            let object = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
            return try #require(object["epsilon"] as? Double)
        }

        /// The ledger's `complete` entries in order, as JSON objects.
        static func completions(in file: URL) -> [[String: Any]] {
            guard let contents = try? String(contentsOf: file, encoding: .utf8) else { return [] }
            return contents.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            .filter { $0["kind"] as? String == "complete" }
        }

        @Test func aSkellamRoundWithAnEdgeKilledMidProtocolIsChargedAtItsSurvivors() async throws {
            let hierarchy = try Hierarchy(name: "skellam-kill", secure: true)
            do {
                try await Self.run(hierarchy)
            } catch {
                await hierarchy.shutdown()
                throw error
            }
            await hierarchy.shutdown()
        }

        static func run(_ hierarchy: Hierarchy) async throws {
            let ports = try FreePorts.pick(3)
            let events = "tcp://127.0.0.1:\(ports[0])"
            let ledger = "tcp://127.0.0.1:\(ports[1])"
            let ledgerFile = hierarchy.directory.appendingPathComponent("ledger.jsonl")
            let signingKey = hierarchy.directory.appendingPathComponent("auditor-signing.key")
            let observer = try await hierarchy.observer()
            defer { Task { await observer.stop() } }
            let (open, first) = try await hierarchy.diagnosing {
                let metrics = PrometheusScraper(port: ports[2])
                try hierarchy.children.launch(
                    name: "auditor",
                    arguments: [
                        "auditor", "--events", events, "--ledger", ledger, "--ledger-file", ledgerFile.path,
                        "--epsilon-budget", "100", "--delta", "\(Self.delta)", "--accountant", "rdp",
                        "--pld-discretization", "0", "--signing-key", signingKey.path, "--min-noise-multiplier", "0",
                    ] + hierarchy.securityFlags(for: "auditor")
                )
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "phone", overrides: ["--metrics-port": "\(ports[2])"])
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
                try hierarchy.children.launch(
                    name: "coordinator",
                    arguments: [
                        "coordinator", "--broadcast", hierarchy.broadcast, "--control", hierarchy.control,
                        "--rounds", "\(Self.rounds)", "--wait-for-workers", "20", "--round-timeout-ms", "6000",
                        "--state-dir", hierarchy.stateDirectory.path, "--aggregator-timeout-ms", "1000",
                        "--worker-timeout-ms", "3000", "--republish-ms", "100", "--holdout", "synthetic",
                        "--task", "sleep-quality", "--seed", "7", "--secure-aggregation",
                        "--secagg-stage-timeout-ms", "1200", "--dp", "skellam", "--clip", "\(Self.clip)",
                        "--sampling-rate", "1", "--delta", "\(Self.delta)", "--auditor-events", events,
                        "--auditor-ledger", ledger, "--skellam-scale", "\(Self.scale)", "--skellam-variance",
                        "\(Self.variance)", "--skellam-min-survivors", "\(Self.minimumSurvivors)",
                    ] + hierarchy.securityFlags(for: "coordinator")
                )
                let everyone = Set(Hierarchy.deviceIds(deviceClass: "phone", devices: 20, firstUser: 0))
                let (open, _) = try await observer.roundOpen(within: .seconds(40), "round.open of all 20") {
                    $0.body.allMembers == everyone
                }
                _ = try await metrics.waitUntil("the shard in its masked-input stage", within: .seconds(20)) {
                    $0.value("fedpulse_secagg_stages_opened_total", ["stage": "maskedInput"]) >= 1
                }
                hierarchy.kill(try #require(doomed))
                let (first, _) = try await observer.roundSummary(within: .seconds(30), "the first round.summary") {
                    $0.roundId == open.body.roundId
                }
                _ = try await observer.runEnd(within: .seconds(60))
                // run.end can overtake the last round.completed on its way to the auditor: poll
                // the ledger file (appended before anything is published) until every round is in.
                let wanted = Set(observer.summaries.map(\.roundId))
                try await Poll.require("complete entries of rounds \(wanted.sorted())", within: .seconds(20)) {
                    Set(Self.completions(in: ledgerFile).compactMap { $0["round"] as? Int }) == wanted
                }
                return (open, first)
            }
            let summaries = observer.summaries
            let skellam = try #require(open.body.secureAggregation?.skellam, "round.open carries the Skellam numbers")
            #expect(open.body.privacy.placement == .skellam)
            #expect(skellam.scale == Self.scale && skellam.deviceVariance == Self.variance)
            #expect(skellam.minimumSurvivors == Self.minimumSurvivors)

            // The killed edge's 4 devices shared keys and never sent masked inputs: 16 survivors.
            let record = try #require(first.secureAggregation?.first)
            #expect(record.advertised == 20 && record.survivors == 16)
            #expect(record.valueBits == skellam.valueBits)
            #expect(summaries.count == Self.rounds, "every round completed: \(summaries.map(\.roundId))")

            let verify = try hierarchy.children.launch(
                name: "verify",
                arguments: ["audit", "verify", ledgerFile.path, "--public-key", signingKey.path + ".pub"]
            )
            #expect(await hierarchy.children.waitForExit(verify, timeout: .seconds(30)) == 0, "the ledger verifies")

            // The first completion is round 1 alone (ε is cumulative): it must be the ε of 16
            // survivors, more than the ε the same round costs without the dropout (20).
            let completions = Self.completions(in: ledgerFile)
            let firstCompletion = try #require(completions.first)
            #expect(firstCompletion["round"] as? Int == open.body.roundId)
            let charged = try #require(firstCompletion["epsilonRDP"] as? Double)
            let atSurvivors = try await Self.plannedEpsilon(hierarchy, survivors: 16, dimension: skellam.dimension)
            let withoutDropout = try await Self.plannedEpsilon(hierarchy, survivors: 20, dimension: skellam.dimension)
            #expect(
                abs(charged - atSurvivors) <= 1e-9 * atSurvivors,
                "charged \(charged), at 16 survivors \(atSurvivors)"
            )
            #expect(charged > withoutDropout, "a dropout cannot make a round cheaper: \(charged) vs \(withoutDropout)")

            // Sleep quality has three classes (chance 1/3); the centralised baseline is about 0.8
            // and the plain 20-device run of this shape ends near 0.7 after 3–4 rounds (measured:
            // 0.68–0.73 here over four runs). 0.6 is what a model that learned through the noise
            // (z ≈ 1.3 at 16 survivors) clears and a broken decode (noise ×γ, a wrapped sum)
            // cannot; it must also have improved on the first round's model.
            let accuracy = try #require(summaries.last?.accuracy)
            let firstAccuracy = try #require(first.accuracy)
            #expect(accuracy > firstAccuracy, "no learning: \(firstAccuracy) → \(accuracy)")
            #expect(accuracy >= 0.6, "final accuracy \(accuracy)")
        }
    }
}
