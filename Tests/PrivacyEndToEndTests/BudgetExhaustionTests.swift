import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Testing
import Wire

extension PrivacyEndToEndTests {
    /// A budget that fits a known number of rounds (DESIGN.md §2 step 6, §4): the auditor denies the
    /// first round that would cross it, the deny is in the ledger, and the coordinator ends the run.
    @Suite(.timeLimit(.minutes(1)))
    struct BudgetExhaustionTests {
        @Test func runStopsAtTheRoundTheRDPAccountantPredictsWithADenyInTheLedger() async throws {
            let q = 0.5
            let z = 1.0
            let delta = PrivacyEndToEndTests.delta
            let mechanism = SubsampledGaussian(samplingRate: q, noiseMultiplier: z)
            func epsilon(_ rounds: Int) -> Double {
                RDPAccountant().composing(mechanism, count: rounds).epsilon(delta: delta).epsilon
            }
            // A budget half-way between 3 and 4 rounds; the prediction below recomputes T from it.
            let budget = (epsilon(3) + epsilon(4)) / 2
            let predicted = (1...50).last { epsilon($0) <= budget } ?? 0
            try #require(predicted == 3)

            try await PrivateHierarchy.run("budget") { setup in
                let hierarchy = setup.hierarchy
                try setup.startAuditor(budget: budget, delta: delta)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch")
                // Twelve devices: a Poisson round at q = 0.5 comes out empty (and is retried, its
                // approval spent) once in 4,096; the checks below hold either way.
                try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 12, firstUser: 0)
                try hierarchy.startCoordinator(
                    rounds: 10, waitForWorkers: 12, roundTimeoutMillis: PrivacyEndToEndTests.roundTimeoutMillis,
                    overrides: [
                        "--dp": "central", "--clip": "1", "--noise-multiplier": "\(z)", "--sampling-rate": "\(q)",
                        "--delta": "\(delta)", "--auditor-events": setup.auditorEvents, "--auditor-ledger": setup.auditorLedger,
                    ]
                )

                let end = try await setup.observer.runEnd(within: .seconds(50))
                #expect(end.reason == "budgetExhausted")
                let summaries = setup.observer.summaries
                try await setup.waitForCompletions(of: summaries.map(\.roundId), within: .seconds(10))
                // The deny is published after it is fsynced; wait for it on the ledger stream too.
                let deny = try await setup.follower.log.first(within: .seconds(10), "the deny entry") { events in
                    events.lazy.compactMap(\.entry).first { $0.kind == .deny }
                }

                let lines = try setup.ledgerLines()
                #expect(LedgerChain.verify(lines: lines).isValid)
                let entries = try setup.ledgerEntries()
                let approvals = entries.filter { $0.kind == .approve }
                let completions = entries.filter { $0.kind == .complete }
                let denials = entries.filter { $0.kind == .deny }
                // The budget counts approvals: a round abandoned for too few contributors stays spent,
                // so the run completes T rounds, or fewer if one was abandoned.
                #expect(approvals.count == predicted)
                #expect(completions.count <= predicted && completions.count >= 1)
                #expect(end.finalRound == completions.count)
                #expect(denials.count == 1)
                #expect(entries.last?.kind == .deny, "nothing may follow the deny: \(entries.map(\.kind.rawValue))")
                #expect(deny.reason == "budgetExceeded")
                #expect(deny.mechanism?.samplingRate == q && deny.mechanism?.noiseMultiplier == z)
                // The denied round was never opened, and it is the next id after the approved ones.
                let opened = setup.observer.openings.map(\.body.roundId)
                #expect(opened == approvals.compactMap(\.round), "opened \(opened)")
                #expect(!opened.contains(deny.round ?? -1))
                #expect((deny.round ?? 0) > (approvals.compactMap(\.round).max() ?? .max))
                // ε as the accountant predicts: spent after T rounds, T + 1 would cross the budget.
                let spent = try #require(entries.dropLast().last?.epsilonRDP, "the total before the deny")
                #expect(relativeDifference(spent, epsilon(predicted)) < 1e-9, "ledger \(spent), RDP \(epsilon(predicted))")
                #expect(spent <= budget && epsilon(predicted + 1) > budget)
                #expect(deny.epsilonRDP.map { relativeDifference($0, spent) < 1e-12 } == true, "a deny spends nothing")
                #expect(summaries.map(\.round) == Array(1...completions.count))
            }
        }
    }
}
