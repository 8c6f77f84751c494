import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Testing
import Wire

extension PrivacyEndToEndTests {
    /// A central-DP and a distributed-DP run over real processes (DESIGN.md §2, §4): the ε in the
    /// ledger is the accountants' value for the rounds that ran, and `audit tail` shows it live.
    @Suite(.timeLimit(.minutes(2)))
    struct AccountingEndToEndTests {
        @Test(arguments: ["central", "distributed"])
        func ledgerEpsilonEqualsTheAccountantsOverTheApprovedRoundsAndAuditTailShowsItLive(
            placement: String
        ) async throws {
            let run = try await AccountedRuns.shared.run(placement: placement)
            let rounds = AccountedRun.rounds
            let z = AccountedRun.noiseMultiplier
            #expect(run.end.reason == "roundLimit")
            #expect(run.end.finalRound == rounds)
            #expect(LedgerChain.verify(lines: run.ledgerLines).isValid)
            let entries = run.entries
            try #require(entries.count == run.ledgerLines.count, "every ledger line decodes")
            let approvals = entries.filter { $0.kind == .approve }
            let completions = entries.filter { $0.kind == .complete }
            // Under Poisson self-selection a round can fall short of the minimum; it is retried
            // under a new id and its approval stays spent. The totals below account for that.
            #expect(approvals.count >= rounds)
            #expect(completions.count == rounds)
            #expect(approvals.compactMap(\.round) == run.openings, "every opened round approved, in order")

            // What was proposed, and the noise actually present (the auditor's effective z).
            for approval in approvals {
                let mechanism = try #require(approval.mechanism)
                #expect(mechanism.samplingRate == AccountedRun.samplingRate)
                #expect(mechanism.noiseMultiplier == z)
                #expect(mechanism.clipNorm == AccountedRun.clipNorm)
                #expect(mechanism.placement.rawValue == placement)
            }
            for completion in completions {
                let mechanism = try #require(completion.mechanism)
                let reporting = (completion.participantsByClass ?? [:]).values.reduce(0, +)
                let summary = try #require(run.summaries.first { $0.roundId == completion.round })
                #expect(reporting == summary.contributors, "the ledger's participants are the round's contributors")
                // Distributed: the other k − 1 shares protect a contributor, not its own.
                let expected =
                    placement == "central" ? z : z * (Double(reporting - 1) / mechanism.expectedCohort).squareRoot()
                let effective = try #require(mechanism.effectiveNoiseMultiplier)
                #expect(
                    relativeDifference(effective, expected) < 1e-12,
                    "round \(completion.round ?? 0): z_eff \(effective), expected \(expected)"
                )
            }

            // RDP after every entry, PLD after every completion, recomputed from the ledger's q and z.
            let replay = LedgerReplay(entries: entries, pldDiscretization: AccountedRun.pldDiscretization)
            #expect(replay.worstRDP < 1e-9, "\(replay.describe(replay.rdp))")
            if replay.abandoned.isEmpty { #expect(replay.pld.count == rounds) }
            #expect(replay.worstPLD < 1e-9, "\(replay.describe(replay.pld))")
            let last = try #require(entries.last { $0.epsilonRDP != nil && $0.epsilonPLD != nil })
            let finalRDP = try #require(last.epsilonRDP)
            let finalPLD = try #require(last.epsilonPLD)
            let spentRounds = replay.completed + replay.abandoned
            let delta = PrivacyEndToEndTests.delta
            // The headline: one accountant run over every spent round (released at its effective z,
            // abandoned at its planned z), as a user would compute it.
            var rdp = RDPAccountant()
            for mechanism in spentRounds { rdp.compose(mechanism) }
            #expect(relativeDifference(finalRDP, rdp.epsilon(delta: delta).epsilon) < 1e-9)
            let grouped = PLDAccountant.epsilon(
                rounds: spentRounds,
                delta: delta,
                discretization: AccountedRun.pldDiscretization
            ).epsilon
            #expect(
                relativeDifference(finalPLD, grouped) < 1e-3,
                "PLD composed in groups: \(grouped), ledger \(finalPLD)"
            )
            #expect(finalPLD <= finalRDP, "PLD is the tighter bound")
            if placement == "central" {
                let planned = RDPAccountant().composing(
                    SubsampledGaussian(samplingRate: AccountedRun.samplingRate, noiseMultiplier: z),
                    count: approvals.count
                )
                #expect(relativeDifference(finalRDP, planned.epsilon(delta: delta).epsilon) < 1e-9)
            }
            // The coordinator's per-round ε is the verdict's: the tighter total at approval.
            for summary in run.summaries {
                let approval = try #require(approvals.first { $0.round == summary.roundId })
                let enforced = min(approval.epsilonRDP ?? .infinity, approval.epsilonPLD ?? .infinity)
                #expect(
                    summary.epsilon.map { relativeDifference($0, enforced) < 1e-12 } == true,
                    "round \(summary.roundId): \(String(describing: summary.epsilon)) vs \(enforced)"
                )
            }
            print(
                "accounting \(placement): final ε RDP \(finalRDP) (worst rel. error \(replay.worstRDP)), PLD \(finalPLD) (worst rel. error \(replay.worstPLD); grouped \(grouped))"
            )

            // `audit tail --json`, started before the run: one row per entry after the header, each
            // the ledger file's entry at that sequence, and the first one shown before the run ended.
            #expect(run.tailStatus == 0)
            let warnings = run.tail.filter { $0.text.hasPrefix("WARNING") }
            #expect(
                warnings.isEmpty,
                "audit tail flagged a chain problem on an untouched ledger: \(warnings.map(\.text))"
            )
            #expect(
                run.tail.count - warnings.count == run.tailMaxEntries,
                "tail output:\n\(run.tail.map(\.text).joined(separator: "\n"))"
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var sequences: [Int] = []
            for line in run.tail where !line.text.hasPrefix("WARNING") {
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(line.text.utf8)) as? [String: Any],
                    "not a JSON object: \(line.text)"
                )
                let sequence = try #require(object["sequence"] as? Int)
                sequences.append(sequence)
                let entry = try #require(entries.first { $0.sequence == sequence })
                let fromFile = String(decoding: try encoder.encode(LedgerRow(entry)), as: UTF8.self)
                #expect(line.text == fromFile)
            }
            #expect(sequences == Array(1...run.tailMaxEntries))
            let firstShown = try #require(run.tail.first)
            #expect(firstShown.receivedAt < run.endSeenAt, "audit tail showed nothing before run.end")
        }
    }
}
