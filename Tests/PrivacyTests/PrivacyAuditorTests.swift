import Testing

@testable import Privacy

struct PrivacyAuditorTests {
    static let salt = String(repeating: "ab", count: 32)

    static func proposal(
        _ round: Int,
        q: Double = 0.1,
        z: Double = 1.0,
        placement: NoisePlacement = .central
    ) -> RoundProposal {
        RoundProposal(
            roundID: round,
            samplingRate: q,
            noiseMultiplier: z,
            clipNorm: 1,
            placement: placement,
            expectedCohort: 10
        )
    }

    static func start(budget: Double, pld: Bool = false) throws -> (PrivacyAuditor, [String]) {
        let configuration = AuditorConfiguration(
            epsilonBudget: budget,
            delta: 1e-5,
            enforcement: pld ? .tightest : .rdp,
            pldDiscretization: pld ? 1e-4 : nil
        )
        let (auditor, header) = try PrivacyAuditor.start(configuration: configuration, participationSalt: salt)
        return (auditor, [header])
    }

    @Test func smallBudgetDeniesAtTheRightRound() throws {
        var (auditor, lines) = try Self.start(budget: 1.0)
        let mechanism = Self.proposal(0, z: 2).mechanism
        var reference = RDPAccountant()
        var expectedDeny = 0
        for round in 1...1000 {
            reference.compose(mechanism)
            if reference.epsilon(delta: 1e-5).epsilon > 1.0 {
                expectedDeny = round
                break
            }
        }
        try #require(expectedDeny > 1)
        var firstDenied: Int?
        for round in 1...expectedDeny + 2 {
            let verdict = auditor.proposalReceived(Self.proposal(round, z: 2))
            lines.append(try #require(verdict.ledgerLine))
            if !verdict.isApproved && firstDenied == nil {
                firstDenied = round
                #expect(verdict.denyReason == .budgetExceeded)
                #expect(verdict.epsilon > 1.0)
            }
            if verdict.isApproved { #expect(verdict.epsilon <= 1.0) }
        }
        #expect(firstDenied == expectedDeny)
        #expect(auditor.spent.rdp <= 1.0)
        #expect(LedgerChain.verify(lines: lines).isValid)
    }

    @Test func repeatedProposalIsNotCountedTwice() throws {
        var (auditor, _) = try Self.start(budget: 10)
        let first = auditor.proposalReceived(Self.proposal(7))
        #expect(first.ledgerLine != nil)
        let spent = auditor.spent.rdp
        let again = auditor.proposalReceived(Self.proposal(7))
        #expect(first.isApproved && again.isApproved)
        #expect(again.isRepeat)
        #expect(again.ledgerLine == nil)
        #expect(auditor.spent.rdp == spent)
        #expect(again.epsilonRDP == first.epsilonRDP)
        let conflicting = auditor.proposalReceived(Self.proposal(7, z: 2))
        #expect(conflicting.denyReason == .conflictingProposal)
        #expect(auditor.spent.rdp == spent)
    }

    @Test func invalidProposalsAreDenied() throws {
        var (auditor, _) = try Self.start(budget: 10)
        let badRate = auditor.proposalReceived(Self.proposal(1, q: 1.5))
        let badNoise = auditor.proposalReceived(Self.proposal(2, z: .nan))
        let noNoise = auditor.proposalReceived(Self.proposal(3, placement: .off))
        #expect(badRate.denyReason == .invalidParameters)
        #expect(badNoise.denyReason == .invalidParameters)
        #expect(noNoise.denyReason == .budgetExceeded)
        #expect(auditor.spent.rdp == 0)
    }

    @Test func distributedNoiseWithDropoutsIsAccountedAtTheNoisePresent() throws {
        var (auditor, _) = try Self.start(budget: 100)
        _ = auditor.proposalReceived(Self.proposal(1, placement: .distributed))
        let planned = auditor.spent.rdp
        let action = auditor.roundCompleted(
            RoundReport(roundID: 1, participantsByClass: ["watch": 3, "phone": 2], modelHash: "m1")
        )
        guard case .record(_, let effective, let epsilonRDP, _) = action else {
            Issue.record("expected a ledger record, got \(action)")
            return
        }
        #expect(abs(effective - (0.5).squareRoot()) < 1e-12)
        #expect(epsilonRDP > planned)
        let duplicate = auditor.roundCompleted(RoundReport(roundID: 1, participantsByClass: [:], modelHash: "m1"))
        let unknown = auditor.roundCompleted(RoundReport(roundID: 9, participantsByClass: [:], modelHash: "m"))
        #expect(duplicate == .reject(reason: .duplicate))
        #expect(unknown == .reject(reason: .notApproved))
    }

    @Test func rebuildingFromTheLedgerGivesTheSameState() throws {
        var (auditor, lines) = try Self.start(budget: 5, pld: true)
        for round in 1...4 {
            let verdict = auditor.proposalReceived(Self.proposal(round, q: 0.1, z: round == 3 ? 2 : 1.5))
            lines.append(try #require(verdict.ledgerLine))
            if round != 4 {
                let action = auditor.roundCompleted(
                    RoundReport(
                        roundID: round,
                        participantsByClass: ["watch": 6, "phone": 4],
                        rejectedByReason: ["normTooLarge": 1],
                        modelHash: "model-\(round)"
                    )
                )
                guard case .record(let line, _, _, _) = action else {
                    Issue.record("expected a record")
                    return
                }
                lines.append(line)
            }
        }
        var rebuilt = try PrivacyAuditor(replaying: lines)
        #expect(rebuilt == auditor)
        #expect(rebuilt.spent.rdp == auditor.spent.rdp)
        // Both continue identically: a repeat of the pending round and a new round.
        let repeated = rebuilt.proposalReceived(Self.proposal(4, q: 0.1, z: 1.5))
        #expect(repeated.isRepeat)
        let next = Self.proposal(5, q: 0.1, z: 1.5)
        let fromRebuilt = rebuilt.proposalReceived(next)
        let fromOriginal = auditor.proposalReceived(next)
        #expect(fromRebuilt == fromOriginal)
    }

    @Test func tamperedLedgerIsRefused() throws {
        var (auditor, lines) = try Self.start(budget: 5)
        lines.append(try #require(auditor.proposalReceived(Self.proposal(1)).ledgerLine))
        lines.append(try #require(auditor.proposalReceived(Self.proposal(2)).ledgerLine))
        lines.remove(at: 1)
        #expect(throws: LedgerError.self) { try PrivacyAuditor(replaying: lines) }
    }
}
