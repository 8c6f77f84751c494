import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Testing
import Wire

extension PrivacyEndToEndTests {
    /// A poisoned update from a malicious SENDER (DESIGN.md §5, §9; issue 8 §2): a rogue PUSHes a
    /// finite update of norm 1000·C under a real cohort member's name, bypassing any client-side
    /// clipping. The shard recomputes the norm, refuses it `normTooLarge` (flagged in the ledger
    /// as the round's clipped count), the member's real update still gets in, and the model moves
    /// by at most C/m plus the central noise.
    @Suite(.timeLimit(.minutes(1)))
    struct PoisonedUpdateTests {
        @Test func aRogueUpdateOfNorm1000CIsRefusedFlaggedAndMovesTheModelByAtMostCOverTheDenominator() async throws {
            let clip = 1.0
            // Near-zero noise (z = 0 is no DP at all, and the auditor rightly denies it): the bound
            // below is then tight to a few percent instead of drowned in noise.
            let z = 0.01
            try await PrivateHierarchy.run("poisoned-update") { setup in
                let hierarchy = setup.hierarchy
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                try setup.startAuditor(budget: 1e9, delta: PrivacyEndToEndTests.delta)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch", overrides: ["--metrics-port": "\(metricsPort)"])
                // The target answers late, so the rogue's forgery arrives first; the other two
                // send a zero delta, so every movement of the model is the target's (or the rogue's).
                try hierarchy.startEdge(
                    name: "edge-target",
                    deviceClass: "watch",
                    devices: 1,
                    firstUser: 0,
                    overrides: ["--send-delay-ms": "3000"]
                )
                try hierarchy.startEdge(
                    name: "edge-idle",
                    deviceClass: "watch",
                    devices: 2,
                    firstUser: 1,
                    overrides: ["--poison-scale": "0"]
                )
                try hierarchy.startCoordinator(
                    rounds: 1,
                    waitForWorkers: 3,
                    roundTimeoutMillis: 8_000,
                    overrides: [
                        "--dp": "central", "--clip": "\(clip)", "--noise-multiplier": "\(z)",
                        "--delta": "\(PrivacyEndToEndTests.delta)",
                        "--auditor-events": setup.auditorEvents, "--auditor-ledger": setup.auditorLedger,
                    ]
                )
                let (open, _) = try await setup.observer.roundOpen(within: .seconds(30), "the first round.open")
                #expect(open.body.allMembers.contains("watch-0"))
                let endpoint = try #require(open.body.shards.first { $0.region == .watch }?.endpoint)
                let forge = try #require(UpdateForgery(open: open, region: .watch))
                let d = forge.parameterCount
                // Finite, claims to be clipped and unremarkable (`norm: 0`), and has norm 1000·C.
                let poison = Float(1_000 * clip / Double(d).squareRoot())
                try await RawPush.send(
                    [try forge.update(workerId: "watch-0", value: poison, weight: 1_000)],
                    to: endpoint
                )
                _ = try await metrics.waitUntil("the rogue update refused normTooLarge", within: .seconds(5)) {
                    $0.rejected(role: "region")["normTooLarge"] == 1
                }
                let end = try await setup.observer.runEnd(within: .seconds(30))
                #expect(end.reason == "roundLimit" && end.finalRound == 1)
                let complete = try await setup.follower.completion(of: open.body.roundId, within: .seconds(10))

                // Flagged: the one refusal is the round's clipped count, and the target still counted.
                #expect(complete.clippedUpdates == 1)
                #expect((complete.participantsByClass ?? [:]).values.reduce(0, +) == 3)
                let denominator = try #require(complete.mechanism?.expectedCohort)

                // The model moved by at most C/m (the target's honest, clipped update), give or take
                // the central noise N(0, z²C²I)/m: ‖noise‖ ≤ zC(√d + 8) except with probability e^{−32}.
                let before = try #require(open.tensor(named: "weights")).floats()
                let checkpointFile = hierarchy.stateDirectory.appendingPathComponent("checkpoint.json")
                let after = try JSONDecoder().decode(CoordinatorCheckpoint.self, from: Data(contentsOf: checkpointFile))
                    .weights
                try #require(before.count == after.count)
                let moved = zip(after, before).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
                    .squareRoot()
                let noiseBound = z * clip * (Double(d).squareRoot() + 8) / denominator
                let bound = clip / denominator
                #expect(moved <= bound + noiseBound + 1e-5, "moved \(moved) > C/m \(bound) + noise \(noiseBound)")
                // Accepted, the forgery alone would have moved it by 1000·C/m.
                #expect(1_000 * clip / denominator > 100 * (bound + noiseBound))
                print(
                    "rogue update: norm \(1_000 * clip), model moved \(moved), C/m \(bound), noise bound \(noiseBound), d \(d)"
                )
            }
        }
    }
}
