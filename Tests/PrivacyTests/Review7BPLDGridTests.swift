import Testing

@testable import Privacy

/// A distributed-noise round that few devices answer: its effective z = z·√((k − 1)/m) can be
/// tiny, and the PLD accountant's connect-the-dots grid grows as that z shrinks (8 million points
/// at z ≈ 0.03, a billion at z ≈ 0.002, with m ≤ the policy's 100 000). The auditor composes it
/// on its one event loop before the completion's ledger line is written, so a round that two
/// devices answered stalled (or, at a large m, exhausted the memory of) the process that every
/// later round must ask, and the coordinator's retransmission of the completion did it again.
@Suite(.timeLimit(.minutes(3))) struct Review7BPLDGridTests {
    @Test func aCompletionThatTwoOfAThousandExpectedDevicesAnsweredIsRecordedAtOnce() throws {
        var (auditor, _) = try PrivacyAuditorTests.start(budget: 1e9, pld: true)
        let proposal = RoundProposal(
            roundID: 1,
            samplingRate: 0.01,
            noiseMultiplier: 1,
            clipNorm: 1,
            placement: .distributed,
            expectedCohort: 1_000,
            cohortBound: 100_000
        )
        #expect(auditor.proposalReceived(proposal).isApproved)
        let action = auditor.roundCompleted(
            RoundReport(roundID: 1, participantsByClass: ["watch": 2], modelHash: "m1")
        )
        guard case .record(_, let effective, let epsilonRDP, let epsilonPLD, _) = action else {
            Issue.record("expected a ledger record, got \(action)")
            return
        }
        #expect(abs(effective - (1.0 / 1_000).squareRoot()) < 1e-12)
        // RDP still bounds the round; the PLD makes no claim it cannot compute (∞ is an upper bound).
        #expect(epsilonRDP.isFinite && epsilonRDP > 0)
        #expect(
            epsilonPLD == .infinity,
            "the PLD composed a grid for z = \(effective): ε = \(String(describing: epsilonPLD))"
        )
        #expect(auditor.spent.rdp == epsilonRDP)
    }

    /// The grid a proposal inside the standard policy (z ≥ 0.7) needs is far below the cap, so
    /// the PLD keeps its tighter ε for every round an operator can approve.
    @Test func roundsInsideTheStandardPolicyStillGetAPLDEpsilon() throws {
        var accountant = PLDAccountant()
        accountant.compose(SubsampledGaussian(samplingRate: 0.01, noiseMultiplier: 0.7), count: 10)
        let epsilon = accountant.epsilon(delta: 1e-5).epsilon
        #expect(epsilon.isFinite && epsilon > 0)
    }
}
