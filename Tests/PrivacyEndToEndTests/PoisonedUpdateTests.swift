import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Testing
import Wire

extension PrivacyEndToEndTests {
    /// A poisoned update (DESIGN.md §9): clipped to C and flagged in the ledger, so one device
    /// moves the model by at most C/m (plus the noise the mechanism adds anyway).
    @Suite(.timeLimit(.minutes(1)))
    struct PoisonedUpdateTests {
        @Test func hugeNormUpdateIsClippedToCFlaggedInTheLedgerAndMovesTheModelByCOverTheDenominator() async throws {
            let clip = 1.0
            // Near-zero noise (z = 0 is no DP at all, and the auditor rightly denies it): the bound
            // below is then tight to a few percent instead of drowned in noise.
            let z = 0.01
            let poisonScale = 1e6
            try await PrivateHierarchy.run("poisoned-update") { setup in
                let hierarchy = setup.hierarchy
                try setup.startAuditor(budget: 1e9, delta: PrivacyEndToEndTests.delta)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch")
                // One poisoned device, and two that send a zero delta: every movement of the model
                // is the poisoned device's, while the DP-FedAvg denominator is the cohort of three.
                let poisoned = try hierarchy.startEdge(
                    name: "edge-poisoned", deviceClass: "watch", devices: 1, firstUser: 0,
                    overrides: ["--poison-scale": "\(poisonScale)", "--log-level": "debug"]
                )
                try hierarchy.startEdge(name: "edge-idle", deviceClass: "watch", devices: 2, firstUser: 1, overrides: ["--poison-scale": "0"])
                try hierarchy.startCoordinator(
                    rounds: 1, waitForWorkers: 3, roundTimeoutMillis: PrivacyEndToEndTests.roundTimeoutMillis,
                    overrides: [
                        "--dp": "central", "--clip": "\(clip)", "--noise-multiplier": "\(z)", "--delta": "\(PrivacyEndToEndTests.delta)",
                        "--auditor-events": setup.auditorEvents, "--auditor-ledger": setup.auditorLedger,
                    ]
                )
                let (open, _) = try await setup.observer.roundOpen(within: .seconds(30), "the first round.open")
                #expect(open.body.allMembers.count == 3)
                let end = try await setup.observer.runEnd(within: .seconds(30))
                #expect(end.reason == "roundLimit" && end.finalRound == 1)
                let complete = try await setup.follower.completion(of: open.body.roundId, within: .seconds(10))

                // Flagged: exactly one clipped update, the poisoned one, in the ledger and its report row.
                #expect(complete.clippedUpdates == 1)
                #expect((complete.participantsByClass ?? [:]).values.reduce(0, +) == 3)
                #expect(LedgerRow(complete).status == "completed, 1 clipped")
                let denominator = try #require(complete.mechanism?.expectedCohort)
                #expect(denominator == 3)

                // The poisoned device really sent a huge norm (its own debug log says so).
                let log = try String(contentsOf: poisoned.logFile, encoding: .utf8)
                let norms = log.split(separator: "\n").filter { $0.contains("update ready") }.compactMap { line -> Double? in
                    guard let field = line.range(of: "update.norm=") else { return nil }
                    return Double(line[field.upperBound...].prefix { !$0.isWhitespace })
                }
                let preClipNorm = try #require(norms.first, "no update.norm in the poisoned edge's log")
                #expect(preClipNorm > 1_000 * clip)

                // The model moved by C/m, give or take the central noise N(0, z²C²I)/m:
                // ‖noise‖ ≤ zC(√d + 8) except with probability e^{−32}.
                let before = try #require(open.tensor(named: "weights")).floats()
                let checkpointFile = hierarchy.stateDirectory.appendingPathComponent("checkpoint.json")
                let after = try JSONDecoder().decode(CoordinatorCheckpoint.self, from: Data(contentsOf: checkpointFile)).weights
                try #require(before.count == after.count)
                let moved = zip(after, before).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }.squareRoot()
                let noiseBound = z * clip * (Double(before.count).squareRoot() + 8) / denominator
                let bound = clip / denominator
                #expect(moved <= bound + noiseBound + 1e-5, "moved \(moved) > C/m \(bound) + noise \(noiseBound)")
                #expect(moved >= bound - noiseBound - 1e-5, "moved \(moved): the clipped update did not arrive at norm C")
                #expect(preClipNorm / denominator > 100 * (bound + noiseBound), "unclipped, the model would have moved by \(preClipNorm / denominator)")
                print("poisoned update: pre-clip norm \(preClipNorm), model moved \(moved), C/m \(bound), noise bound \(noiseBound), d \(before.count)")
            }
        }
    }
}
