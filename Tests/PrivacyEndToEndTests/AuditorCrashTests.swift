import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Testing
import Wire

extension PrivacyEndToEndTests {
    /// The auditor killed mid-run (DESIGN.md §9, "auditor down"): no new round starts until it is
    /// back, and the restarted auditor rebuilds from its ledger without counting a round twice or
    /// forgetting one.
    @Suite(.timeLimit(.minutes(1)))
    struct AuditorCrashTests {
        @Test func noRoundStartsWhileTheAuditorIsDownAndNothingIsCountedTwiceOrForgottenAfterItsRestart() async throws {
            let z = 1.0
            let delta = PrivacyEndToEndTests.delta
            let rounds = 4
            try await PrivateHierarchy.run("auditor-crash") { setup in
                let hierarchy = setup.hierarchy
                let observer = setup.observer
                let auditor = try setup.startAuditor(budget: 1_000, delta: delta)
                try hierarchy.startGlobal()
                try hierarchy.startShard(region: "watch")
                // The send delay keeps each round open long enough to kill the auditor inside one.
                try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 3, firstUser: 0, overrides: ["--send-delay-ms": "700"])
                let coordinator = try hierarchy.startCoordinator(
                    rounds: rounds, waitForWorkers: 3, roundTimeoutMillis: PrivacyEndToEndTests.roundTimeoutMillis,
                    overrides: [
                        "--dp": "central", "--clip": "1", "--noise-multiplier": "\(z)", "--delta": "\(delta)",
                        "--auditor-events": setup.auditorEvents, "--auditor-ledger": setup.auditorLedger,
                    ]
                )

                // Kill the auditor while round 2 is open: approved, verdict delivered, its completion
                // and the next proposal still to come. Nothing is in flight to the auditor then.
                let (first, firstSequence) = try await observer.roundSummary(within: .seconds(30), "round.summary of round 1") { $0.round == 1 }
                let (open, _) = try await observer.roundOpen(after: firstSequence, within: .seconds(10), "the round.open after round 1") {
                    $0.body.roundId > first.roundId
                }
                let waitsBefore = setup.occurrences(of: "training waits", in: coordinator)
                hierarchy.kill(auditor)
                try #require(Clock.nowMillis() < open.body.deadlineMillis, "the kill came after the round's deadline")
                let ledgerAtKill = try setup.ledgerEntries()
                let approvedAtKill = Set(ledgerAtKill.filter { $0.kind == .approve }.compactMap(\.round))
                #expect(approvedAtKill.contains(open.body.roundId))

                // Down: the open round finishes, then the coordinator asks for the next one and waits.
                let (interrupted, _) = try await observer.roundSummary(within: .seconds(10), "round.summary of the round open at the kill") {
                    $0.roundId == open.body.roundId
                }
                try await setup.waitForLog("training waits", in: coordinator, moreThan: waitsBefore, within: .seconds(15))
                let openedWhileDown = observer.openings.map(\.body.roundId).filter { !approvedAtKill.contains($0) }
                #expect(openedWhileDown.isEmpty, "rounds \(openedWhileDown) opened without an approval\n\(observer.transcript)")
                #expect(observer.summaries.map(\.roundId).allSatisfy(approvedAtKill.contains))
                #expect(try setup.ledgerLines().count == ledgerAtKill.count, "a dead auditor's ledger grew")

                // Back: the same ledger file and endpoints; the run goes on to its last round.
                let restarted = try setup.startAuditor(name: "auditor-restarted", budget: 1_000, delta: delta)
                let end = try await observer.runEnd(within: .seconds(40))
                #expect(end.reason == "roundLimit")
                #expect(end.finalRound == rounds)
                let summaries = observer.summaries
                try await setup.waitForCompletions(of: summaries.map(\.roundId), within: .seconds(10))
                #expect(setup.occurrences(of: "auditor restored from ledger", in: restarted) == 1)

                let lines = try setup.ledgerLines()
                let verification = LedgerChain.verify(lines: lines)
                #expect(verification.isValid, "\(String(describing: verification.firstProblem))")
                let entries = try setup.ledgerEntries()
                #expect(entries.filter { $0.kind == .header }.count == 1, "the restart must not start a new ledger")
                let approvals = entries.filter { $0.kind == .approve }.compactMap(\.round)
                let completions = entries.filter { $0.kind == .complete }.compactMap(\.round)
                #expect(Set(approvals).count == approvals.count, "a round approved twice: \(approvals)")
                #expect(Set(completions).count == completions.count, "a round completed twice: \(completions)")
                #expect(completions.count == rounds)
                #expect(Set(completions) == Set(summaries.map(\.roundId)), "completed \(completions), summarised \(summaries.map(\.roundId))")
                // The round that finished while the auditor was down is recorded after its restart.
                #expect(completions.contains(interrupted.roundId))
                #expect(Set(completions).isSubset(of: Set(approvals)))
                #expect(Set(observer.openings.map(\.body.roundId)).isSubset(of: Set(approvals)))
                #expect(entries.allSatisfy { $0.kind != .deny })

                // ε after every entry, and in the end for exactly the rounds approved (central: z each).
                let replay = LedgerReplay(entries: entries)
                #expect(replay.worstRDP < 1e-9, "\(replay.describe(replay.rdp))")
                let mechanism = SubsampledGaussian(samplingRate: 1, noiseMultiplier: z)
                let expected = RDPAccountant().composing(mechanism, count: approvals.count).epsilon(delta: delta).epsilon
                let final = try #require(entries.last?.epsilonRDP)
                #expect(relativeDifference(final, expected) < 1e-9, "ledger \(final), accountant \(expected) over \(approvals.count) rounds")
                print("auditor-crash: \(approvals.count) approvals, \(completions.count) completions, final ε \(final) vs \(expected), worst entry rel. error \(replay.worstRDP)")
            }
        }
    }
}
