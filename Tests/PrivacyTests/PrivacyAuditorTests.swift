import Testing

@testable import Privacy

struct PrivacyAuditorTests {
    static let salt = String(repeating: "ab", count: 32)
    static let key = LedgerSigningKey(rawRepresentation: Array(repeating: 7, count: 32))
    static let permissive = AuditorPolicy(
        maxSamplingRate: 1,
        minNoiseMultiplier: 0,
        maxClipNorm: 100,
        placements: Set(NoisePlacement.allCases),
        maxExpectedCohort: 1e6,
        maxRoundGap: 1_000_000
    )

    static func proposal(
        _ round: Int,
        q: Double = 0.1,
        z: Double = 1.0,
        placement: NoisePlacement = .central,
        cohort: Double = 10,
        bound: Int = 100
    ) -> RoundProposal {
        RoundProposal(
            roundID: round,
            samplingRate: q,
            noiseMultiplier: z,
            clipNorm: 1,
            placement: placement,
            expectedCohort: cohort,
            cohortBound: bound
        )
    }

    static func signingKey() throws -> LedgerSigningKey { try #require(key) }

    static func start(
        budget: Double,
        pld: Bool = false,
        policy: AuditorPolicy = permissive
    ) throws -> (PrivacyAuditor, [String]) {
        let configuration = AuditorConfiguration(
            epsilonBudget: budget,
            delta: 1e-5,
            enforcement: pld ? .tightest : .rdp,
            pldDiscretization: pld ? 1e-4 : nil
        )
        let (auditor, header) = try PrivacyAuditor.start(
            configuration: configuration,
            policy: policy,
            participationSalt: salt,
            signingKey: try signingKey()
        )
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
                #expect(verdict.epsilon <= 1.0, "a deny states what was spent")
            }
            if verdict.isApproved { #expect(verdict.epsilon <= 1.0) }
        }
        #expect(firstDenied == expectedDeny)
        #expect(auditor.spent.rdp <= 1.0)
        #expect(LedgerChain.verify(lines: lines, publicKey: try Self.signingKey().publicKey).isValid)
    }

    @Test func retransmissionIsAnsweredFromMemoryAndADeniedIdIsNeverApproved() throws {
        var (auditor, _) = try Self.start(budget: 10)
        let first = auditor.proposalReceived(Self.proposal(7))
        #expect(first.ledgerLine != nil)
        let spent = auditor.spent.rdp
        let again = auditor.proposalReceived(Self.proposal(7))
        #expect(first.isApproved && again.isApproved && again.isRepeat && again.ledgerLine == nil)
        #expect(auditor.spent.rdp == spent)
        #expect(again.epsilonRDP == first.epsilonRDP)
        let conflicting = auditor.proposalReceived(Self.proposal(7, z: 2))
        #expect(conflicting.denyReason == .conflictingProposal && conflicting.ledgerLine == nil)
        // Round 8 denied on its merits; the same proposal again gets the same deny, any other replayedRound.
        let invalid = auditor.proposalReceived(Self.proposal(8, cohort: 0))
        #expect(invalid.denyReason == .invalidParameters && invalid.ledgerLine != nil)
        #expect(auditor.proposalReceived(Self.proposal(8, cohort: 0)).denyReason == .invalidParameters)
        #expect(auditor.proposalReceived(Self.proposal(8)).denyReason == .replayedRound)
        #expect(auditor.spent.rdp == spent)
    }

    @Test func onlyTheNextRoundIdIsApproved() throws {
        var (auditor, _) = try Self.start(budget: 100, policy: AuditorPolicy.standard)
        #expect(auditor.proposalReceived(Self.proposal(5)).isApproved)
        #expect(
            auditor.roundCompleted(RoundReport(roundID: 5, participantsByClass: ["watch": 5], modelHash: "m")).isRecord
        )
        let spent = auditor.spent
        #expect(
            auditor.proposalReceived(Self.proposal(5)).denyReason == .replayedRound,
            "a completed id is never approved again"
        )
        #expect(auditor.proposalReceived(Self.proposal(3)).denyReason == .notNextRound, "below the last recorded id")
        #expect(auditor.proposalReceived(Self.proposal(777_777)).denyReason == .notNextRound, "too far ahead")
        #expect(auditor.spent == spent)
        #expect(auditor.proposalReceived(Self.proposal(9)).isApproved, "skipping a few ids is fine")
    }

    @Test func proposalsOutsideThePolicyAreDeniedAndSpendNothing() throws {
        var (auditor, _) = try Self.start(budget: 1_000, policy: AuditorPolicy.standard)
        // The measured attack: q = 1, z = 0.5 was approved while budget remained.
        let weak = auditor.proposalReceived(Self.proposal(1, q: 1, z: 0.5))
        #expect(weak.denyReason == .outsidePolicy && weak.ledgerLine != nil)
        #expect(auditor.proposalReceived(Self.proposal(2, placement: .off)).denyReason == .outsidePolicy)
        #expect(auditor.proposalReceived(Self.proposal(3, cohort: 1e7)).denyReason == .outsidePolicy)
        #expect(auditor.proposalReceived(Self.proposal(4, q: 1.5)).denyReason == .invalidParameters)
        #expect(auditor.proposalReceived(Self.proposal(5, z: .nan)).denyReason == .invalidParameters)
        #expect(auditor.spent.rdp == 0)
        #expect(auditor.proposalReceived(Self.proposal(6)).isApproved)
    }

    @Test func completionsAreClampedToTheApprovedBoundAndHashedUnderTheLedgerSalt() throws {
        var (auditor, _) = try Self.start(budget: 100)
        _ = auditor.proposalReceived(Self.proposal(1, placement: .distributed, cohort: 4, bound: 4))
        let tooMany = auditor.roundCompleted(
            RoundReport(
                roundID: 1,
                participantsByClass: ["watch": 5],
                modelHash: "m",
                contributorIDs: ["a", "b", "c", "d", "e"]
            )
        )
        #expect(tooMany.rejection == .tooManyContributors)
        // Forged class counts near Int.max neither trap nor count beyond the bound.
        let action = auditor.roundCompleted(
            RoundReport(
                roundID: 1,
                participantsByClass: ["watch": .max, "phone": .max],
                modelHash: "m",
                contributorIDs: ["w-1", "w-2", "w-3"]
            )
        )
        guard case .record(let line, let effective, _, _, _) = action else {
            Issue.record("expected a record, got \(action)")
            return
        }
        #expect(abs(effective - (2.0 / 4).squareRoot()) < 1e-12, "k = 3 named: the other 2 shares of 4")
        let entry = try LedgerChain.decode(line)
        let hasher = try #require(ParticipationCounter(saltHex: Self.salt))
        #expect(entry.participantHashes == ["w-1", "w-2", "w-3"].map(hasher.key(for:)).sorted())
        #expect(!line.contains("w-1"))
        #expect(
            auditor.roundCompleted(RoundReport(roundID: 1, participantsByClass: [:], modelHash: "m"))
                == .alreadyRecorded(ledgerLine: line)
        )
        #expect(
            auditor.roundCompleted(RoundReport(roundID: 9, participantsByClass: [:], modelHash: "m")).rejection
                == .notApproved
        )
    }

    @Test func distributedNoiseWithDropoutsIsAccountedAtTheNoiseProtectingOneContributor() throws {
        var (auditor, _) = try Self.start(budget: 100)
        _ = auditor.proposalReceived(Self.proposal(1, placement: .distributed))
        let planned = auditor.spent.rdp
        let action = auditor.roundCompleted(
            RoundReport(roundID: 1, participantsByClass: ["watch": 3, "phone": 2], modelHash: "m1")
        )
        guard case .record(_, let effective, let epsilonRDP, _, _) = action else {
            Issue.record("expected a ledger record, got \(action)")
            return
        }
        #expect(abs(effective - (0.4).squareRoot()) < 1e-12, "z·√((k−1)/m) with k = 5, m = 10")
        #expect(epsilonRDP > planned)
    }

    @Test func localNoiseRecordsTheWorstDevicesEpsilonWithoutAmplification() throws {
        var (auditor, _) = try Self.start(budget: 1_000)
        var lines: [String] = []
        for round in 1...3 {
            _ = auditor.proposalReceived(Self.proposal(round, q: 0.1, z: 2, placement: .local))
            let ids = round == 3 ? ["d-1", "d-2"] : ["d-1"]
            guard
                case .record(let line, _, _, _, _) = auditor.roundCompleted(
                    RoundReport(
                        roundID: round,
                        participantsByClass: ["watch": ids.count],
                        modelHash: "m",
                        contributorIDs: ids
                    )
                )
            else {
                Issue.record("round \(round) not recorded")
                return
            }
            lines.append(line)
        }
        let last = try LedgerChain.decode(try #require(lines.last))
        #expect(last.localRoundsWorstDevice == 3)
        // Three Gaussian rounds at z = 2 are one at 1/z² = 3/4, with no sampling: q = 1.
        let expected = RDPAccountant().composing(
            SubsampledGaussian(samplingRate: 1, noiseMultiplier: 2 / 3.0.squareRoot())
        ).epsilon(delta: 1e-5).epsilon
        let worst = try #require(last.epsilonLocalWorstDevice)
        #expect(abs(worst - expected) / expected < 1e-9)
        let amplified = try #require(last.epsilonRDP)
        #expect(worst > amplified, "against the aggregator no sampling amplification applies")
    }

    @Test func rebuildingFromTheLedgerGivesTheSameState() throws {
        var (auditor, lines) = try Self.start(budget: 5, pld: true)
        for round in 1...4 {
            let verdict = auditor.proposalReceived(
                Self.proposal(round, q: 0.1, z: round == 3 ? 2 : 1.5, placement: round == 2 ? .local : .central)
            )
            lines.append(try #require(verdict.ledgerLine))
            if round != 4 {
                let action = auditor.roundCompleted(
                    RoundReport(
                        roundID: round,
                        participantsByClass: ["watch": 6, "phone": 4],
                        rejectedByReason: ["normTooLarge": 1],
                        modelHash: "model-\(round)",
                        contributorIDs: (0..<10).map { "w-\($0)" }
                    )
                )
                guard case .record(let line, _, _, _, _) = action else {
                    Issue.record("expected a record")
                    return
                }
                lines.append(line)
            }
        }
        lines.append(try #require(auditor.proposalReceived(Self.proposal(5, cohort: 0)).ledgerLine))
        var rebuilt = try PrivacyAuditor(replaying: lines, policy: Self.permissive, signingKey: try Self.signingKey())
        #expect(rebuilt == auditor)
        // Both continue identically: a repeat of the pending round, a repeat of the deny, a replay, a new round.
        #expect(rebuilt.proposalReceived(Self.proposal(4, q: 0.1, z: 1.5)).isRepeat)
        #expect(rebuilt.proposalReceived(Self.proposal(5, cohort: 0)).denyReason == .invalidParameters)
        #expect(rebuilt.proposalReceived(Self.proposal(2)).denyReason == .replayedRound)
        let next = Self.proposal(6, q: 0.1, z: 1.5)
        #expect(rebuilt.proposalReceived(next) == auditor.proposalReceived(next))
    }

    @Test func tamperedOrForeignLedgerIsRefused() throws {
        var (auditor, lines) = try Self.start(budget: 5)
        lines.append(try #require(auditor.proposalReceived(Self.proposal(1)).ledgerLine))
        lines.append(try #require(auditor.proposalReceived(Self.proposal(2)).ledgerLine))
        let other = try #require(LedgerSigningKey(rawRepresentation: Array(repeating: 9, count: 32)))
        #expect(throws: LedgerError.self) { try PrivacyAuditor(replaying: lines, signingKey: other) }
        lines.remove(at: 1)
        #expect(throws: LedgerError.self) { try PrivacyAuditor(replaying: lines, signingKey: try Self.signingKey()) }
    }
}

extension CompletionAction {
    var isRecord: Bool {
        if case .record = self { return true }
        return false
    }

    var rejection: CompletionRejection? {
        if case .reject(let reason, _) = self { return reason }
        return nil
    }
}
