import Privacy
import Testing
import Wire

@testable import Rounds

/// The auditor's decisions over Wire messages, one row per attack, with plain values.
struct AuditorRoundTests {
    static let key = LedgerSigningKey(rawRepresentation: Array(repeating: 3, count: 32))
    static let coordinator = PeerIdentity(claimed: "coordinator")

    static func machine() throws -> AuditorRound {
        let (auditor, _) = try PrivacyAuditor.start(
            configuration: AuditorConfiguration(
                epsilonBudget: 1_000,
                delta: 1e-5,
                enforcement: .rdp,
                pldDiscretization: nil
            ),
            policy: .standard,
            participationSalt: String(repeating: "cd", count: 32),
            signingKey: try #require(key)
        )
        return AuditorRound(auditor: auditor, coordinatorID: "coordinator")
    }

    static func proposal(
        _ round: Int,
        q: Double = 0.5,
        z: Double = 1.1,
        selected: [String] = [],
        population: Int = 6
    ) -> Message<Wire.RoundProposal> {
        Message(
            sender: "coordinator",
            body: Wire.RoundProposal(
                roundId: round,
                samplingRate: q,
                noiseMultiplier: z,
                clipNorm: 1,
                placement: .distributed,
                expectedCohort: max(1, Int((q * Double(population)).rounded())),
                population: population,
                selected: selected
            )
        )
    }

    static func completion(_ round: Int, ids: [String]) -> Message<RoundCompleted> {
        Message(
            sender: "coordinator",
            body: RoundCompleted(
                roundId: round,
                modelVersion: round,
                modelDigest: String(repeating: "a", count: 64),
                participants: ParticipantCounts(watch: ids.count),
                contributors: ids.count,
                clippedCount: 0,
                effectiveNoiseMultiplier: 99,
                contributorIds: ids
            )
        )
    }

    /// An attack: what arrives, from whom, and what must come out.
    struct Attack: Sendable, CustomTestStringConvertible {
        var name: String
        /// Played after round 1 was approved and completed (k = 3 of population 6).
        var message: AnyMessage
        var sender: PeerIdentity
        /// The reject reason, or the deny reason of the published verdict.
        var rejected: RejectReason?
        var denied: RoundVerdict.DenyReason?
        var testDescription: String { name }
    }

    static let attacks: [Attack] = [
        Attack(
            name: "forged round.completed from a device id",
            message: .roundCompleted(completion(2, ids: ["w-1"])),
            sender: PeerIdentity(claimed: "watch-3"),
            rejected: .unauthorizedSender
        ),
        Attack(
            name: "forged proposal from a device id",
            message: .roundProposal(proposal(2)),
            sender: PeerIdentity(claimed: "watch-3"),
            rejected: .unauthorizedSender
        ),
        Attack(
            name: "claim disagreeing with the transport's proof",
            message: .roundProposal(proposal(2)),
            sender: PeerIdentity(claimed: "coordinator", authenticated: "watch-3"),
            rejected: .unauthorizedSender
        ),
        Attack(
            name: "proposal for round 777777 with q = 1, z = 0.5",
            message: .roundProposal(proposal(777_777, q: 1, z: 0.5)),
            sender: coordinator,
            denied: .notNextRound
        ),
        Attack(
            name: "proposal for the next id with q = 1, z = 0.5",
            message: .roundProposal(proposal(3, q: 1, z: 0.5)),
            sender: coordinator,
            denied: .outsidePolicy
        ),
        Attack(
            name: "replay of the completed round 1",
            message: .roundProposal(proposal(1)),
            sender: coordinator,
            denied: .replayedRound
        ),
        Attack(
            name: "completion of a round never approved",
            message: .roundCompleted(completion(5, ids: ["w-1", "w-2"])),
            sender: coordinator,
            rejected: .staleRound
        ),
        Attack(
            name: "completion naming more contributors than the approved bound",
            message: .roundCompleted(completion(2, ids: (0..<7).map { "w-\($0)" })),
            sender: coordinator,
            rejected: .overflow
        ),
        Attack(
            name: "forged ledger entry on the events socket",
            message: .ledgerEntry(Message(sender: "coordinator", body: LedgerEntryMessage(sequence: 0, line: "{}"))),
            sender: coordinator,
            rejected: .topicMismatch
        ),
    ]

    @Test(arguments: attacks)
    func attackIsRefusedAndSpendsNothing(_ attack: Attack) throws {
        var round = try Self.machine()
        let approved = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        #expect(approved.contains { if case .appendToLedger = $0 { true } else { false } })
        _ = round.messageReceived(.roundProposal(Self.proposal(2)), from: Self.coordinator)
        _ = round.messageReceived(
            .roundCompleted(Self.completion(1, ids: ["w-1", "w-2", "w-3"])),
            from: Self.coordinator
        )
        let before = round.auditor
        let actions = round.messageReceived(attack.message, from: attack.sender)
        #expect(round.auditor.spent == before.spent, "ε unchanged")
        // Only a deny on the proposal's merits is written (so that id is burnt); nothing else is.
        let appended = actions.contains { if case .appendToLedger = $0 { true } else { false } }
        #expect(appended == (attack.denied == .outsidePolicy))
        if let rejected = attack.rejected {
            #expect(actions.count == 1)
            guard case .reject(let reason, _, _, _)? = actions.first else {
                Issue.record("expected a rejection, got \(actions)")
                return
            }
            #expect(reason == rejected)
            #expect(round.auditor == before, "a rejected message changes nothing")
        }
        if let denied = attack.denied {
            let verdicts = actions.compactMap { if case .publishVerdict(let verdict) = $0 { verdict } else { nil } }
            #expect(verdicts.count == 1)
            #expect(verdicts.first?.approved == false)
            #expect(verdicts.first?.denyReason == denied)
        }
    }

    @Test func approvalIsAppendedBeforeItIsPublishedAndARetransmissionWritesNothing() throws {
        var round = try Self.machine()
        let actions = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        guard actions.count == 4, case .appendToLedger(let line) = actions[0],
            case .publishEntry(let entry) = actions[1],
            case .publishVerdict(let verdict) = actions[2], case .spent = actions[3]
        else {
            Issue.record("expected append, publish entry, publish verdict, spent; got \(actions)")
            return
        }
        #expect(entry.line == line && entry.sequence == 1)
        #expect(verdict.approved && verdict.reason == nil)
        let again = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        #expect(again == [.publishVerdict(verdict)], "answered from memory, no new line")
    }

    @Test func repeatedCompletionRepublishesItsLineAndTheCoordinatorsEffectiveNoiseIsIgnored() throws {
        var round = try Self.machine()
        _ = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        let first = round.messageReceived(
            .roundCompleted(Self.completion(1, ids: ["w-1", "w-2", "w-3"])),
            from: Self.coordinator
        )
        guard case .appendToLedger(let line)? = first.first else {
            Issue.record("expected an append, got \(first)")
            return
        }
        let entry = try LedgerChain.decode(line)
        // q = 0.5 of 6: m = 3; k = 3 named; the other two shares: z·√(2/3), not the claimed 99.
        let effective = try #require(entry.mechanism?.effectiveNoiseMultiplier)
        #expect(abs(effective - 1.1 * (2.0 / 3).squareRoot()) < 1e-12)
        #expect(entry.participantHashes?.count == 3 && !line.contains("w-1"))
        let again = round.messageReceived(
            .roundCompleted(Self.completion(1, ids: ["w-1", "w-2", "w-3"])),
            from: Self.coordinator
        )
        #expect(again == [.publishEntry(LedgerEntryMessage(sequence: entry.sequence, line: line))])
    }

    @Test func cohortBoundIsTheListedCohortOrThePopulation() {
        let listed = AuditorRound.proposal(Self.proposal(1, selected: ["h1", "h2"], population: 50).body)
        let poisson = AuditorRound.proposal(Self.proposal(1, population: 50).body)
        #expect(listed.cohortBound == 2)
        #expect(poisson.cohortBound == 50)
    }

    @Test func auditEventKindsComeFromAClosedSet() throws {
        var round = try Self.machine()
        let kinds = ["update.rejected", "noise.added", "kind-\(UInt64.random(in: 0...UInt64.max))", "other"]
        let counted = kinds.flatMap { kind in
            round.messageReceived(
                .auditEvent(Message(sender: "x", body: AuditEvent(role: "region", kind: kind))),
                from: PeerIdentity(claimed: "x")
            )
        }
        #expect(
            counted == [
                .countAuditEvent(.updateRejected), .countAuditEvent(.noiseAdded), .countAuditEvent(.other),
                .countAuditEvent(.other),
            ]
        )
    }

    @Test(arguments: Wire.NoisePlacement.allCases)
    func placementConvertsBothWaysWithoutLoss(_ placement: Wire.NoisePlacement) {
        #expect(Wire.NoisePlacement(Privacy.NoisePlacement(placement)) == placement)
        #expect(Privacy.NoisePlacement(placement).rawValue == placement.rawValue)
    }
}
