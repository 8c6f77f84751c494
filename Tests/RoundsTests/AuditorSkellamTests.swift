import Privacy
import Testing
import Wire

@testable import Rounds

/// The auditor under `skellam`: approval at the proposal's minimum survivors, completion at the
/// weakest shard's securely counted survivors, and the coordinator (or a shard behind it)
/// playing the attacker with forged records.
struct AuditorSkellamTests {
    static let coordinator = PeerIdentity(claimed: "coordinator")
    static let settings = SkellamSettings(
        scale: 64,
        deviceVariance: 400,
        dimension: 1_024,
        valueBits: 14,
        roundingBeta: SkellamParameters.standardRoundingBeta,
        minimumSurvivors: 10
    )

    static func machine(pld: Double? = nil) throws -> AuditorRound {
        let (auditor, _) = try PrivacyAuditor.start(
            configuration: AuditorConfiguration(
                epsilonBudget: 1_000,
                delta: 1e-5,
                enforcement: .tightest,
                pldDiscretization: pld
            ),
            policy: .standard,
            participationSalt: String(repeating: "cd", count: 32),
            signingKey: try #require(LedgerSigningKey(rawRepresentation: Array(repeating: 3, count: 32)))
        )
        return AuditorRound(auditor: auditor, coordinatorID: "coordinator")
    }

    static func proposal(_ round: Int, skellam: SkellamSettings? = settings) -> Message<Wire.RoundProposal> {
        Message(
            sender: "coordinator",
            body: Wire.RoundProposal(
                roundId: round,
                samplingRate: 0.1,
                noiseMultiplier: 1,
                clipNorm: 1,
                placement: .skellam,
                expectedCohort: 20,
                population: 200,
                selected: [],
                skellam: skellam
            )
        )
    }

    static func record(
        _ deviceClass: String,
        _ shard: Int,
        survivors: Int,
        advertised: Int? = nil
    )
        -> SecureAggregationRecord
    {
        SecureAggregationRecord(
            deviceClass: deviceClass,
            shard: shard,
            survivors: survivors,
            advertised: advertised ?? survivors + 2,
            degree: 8,
            threshold: 5,
            modulusBits: 20,
            valueBits: 14
        )
    }

    /// 25 watches in two shards (15 + 10 survivors) unless told otherwise.
    static func completion(
        _ round: Int,
        watches: Int = 25,
        records: [SecureAggregationRecord]? = [record("watch", 0, survivors: 15), record("watch", 1, survivors: 10)]
    ) -> Message<RoundCompleted> {
        Message(
            sender: "coordinator",
            body: RoundCompleted(
                roundId: round,
                modelVersion: round,
                modelDigest: String(repeating: "a", count: 64),
                participants: ParticipantCounts(watch: watches),
                contributors: watches,
                clippedCount: 0,
                effectiveNoiseMultiplier: 99,
                secureAggregation: records
            )
        )
    }

    static func epsilon(survivors: Int, rounds: Int = 1) -> Double {
        let parameters = Privacy.SkellamProposal(settings).parameters(clipNorm: 1)
        return RDPAccountant()
            .composing(SkellamRelease(parameters, samplingRate: 0.1, survivors: survivors), count: rounds)
            .epsilon(delta: 1e-5).epsilon
    }

    @Test func approvalChargesTheMinimumSurvivorsAndCompletionTheWeakestShard() throws {
        var round = try Self.machine()
        _ = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        #expect(abs(round.auditor.spent.rdp - Self.epsilon(survivors: 10)) < 1e-12)
        let actions = round.messageReceived(
            .roundCompleted(
                Self.completion(
                    1,
                    watches: 27,
                    records: [Self.record("watch", 0, survivors: 15), Self.record("watch", 1, survivors: 12)]
                )
            ),
            from: Self.coordinator
        )
        guard case .appendToLedger(let line)? = actions.first else {
            Issue.record("expected an append, got \(actions)")
            return
        }
        #expect(!actions.contains { if case .flag = $0 { true } else { false } })
        // 27 survivors in all, but the weaker shard's 12 is what protects its devices.
        #expect(abs(round.auditor.spent.rdp - Self.epsilon(survivors: 12)) < 1e-12)
        #expect(round.auditor.spent.rdp < Self.epsilon(survivors: 10))
        let entry = try LedgerChain.decode(line)
        #expect(entry.mechanism?.survivors == 12)
        #expect(entry.mechanism?.skellam?.minimumSurvivors == 10)
        #expect(entry.secureAggregation?.map(\.slot) == ["watch/0", "watch/1"])
        #expect(entry.secureAggregation?.first?.degree == 8)
        #expect(entry.detail == nil)
    }

    @Test func aLedgerWithSkellamRoundsReplaysToTheSameTotals() throws {
        var round = try Self.machine()
        var lines: [String] = []
        func keep(_ actions: [AuditorAction]) {
            for case .appendToLedger(let line) in actions { lines.append(line) }
        }
        let key = try #require(LedgerSigningKey(rawRepresentation: Array(repeating: 3, count: 32)))
        var (auditor, header) = try PrivacyAuditor.start(
            configuration: AuditorConfiguration(epsilonBudget: 1_000, delta: 1e-5, pldDiscretization: nil),
            participationSalt: String(repeating: "cd", count: 32),
            signingKey: key
        )
        lines.append(header)
        round = AuditorRound(auditor: auditor, coordinatorID: "coordinator")
        keep(round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator))
        keep(round.messageReceived(.roundCompleted(Self.completion(1)), from: Self.coordinator))
        keep(round.messageReceived(.roundProposal(Self.proposal(2)), from: Self.coordinator))
        auditor = try PrivacyAuditor(replaying: lines, signingKey: key)
        #expect(lines.count == 4)
        #expect(auditor.spent == round.auditor.spent)
        let direct = RDPAccountant()
            .composing(
                SkellamRelease(
                    Privacy.SkellamProposal(Self.settings).parameters(clipNorm: 1),
                    samplingRate: 0.1,
                    survivors: 10
                ),
                count: 2
            )
            .epsilon(delta: 1e-5).epsilon
        #expect(abs(auditor.spent.rdp - direct) < 1e-9, "completed at 10 (the weaker shard) plus pending at 10")
    }

    @Test func aRunWithSkellamRoundsHasNoPLDTotalAndIsEnforcedOnRDP() throws {
        var round = try Self.machine(pld: 1e-3)
        #expect(round.auditor.spent.pld == 0)
        _ = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        #expect(round.auditor.spent.pld == nil)
        #expect(round.auditor.spent.rdp > 0)
    }

    @Test func proposalsTheAuditorCannotAccountAreDenied() throws {
        var round = try Self.machine()
        var tooFewBits = Self.settings
        tooFewBits.valueBits = 7
        var oneSurvivor = Self.settings
        oneSurvivor.minimumSurvivors = 1
        var weak = Self.settings
        weak.deviceVariance = 1
        let cases: [(Message<Wire.RoundProposal>, RoundVerdict.DenyReason)] = [
            (Self.proposal(1, skellam: tooFewBits), .invalidParameters),
            (Self.proposal(2, skellam: oneSurvivor), .invalidParameters),
            (Self.proposal(3, skellam: nil), .invalidParameters),
            // √(9·1)/Δ2 ≈ 0.05: far below the policy's z ≥ 0.7.
            (Self.proposal(4, skellam: weak), .outsidePolicy),
        ]
        for (message, reason) in cases {
            let verdicts = round.messageReceived(.roundProposal(message), from: Self.coordinator)
                .compactMap { if case .publishVerdict(let verdict) = $0 { verdict } else { nil } }
            #expect(verdicts.first?.denyReason == reason, "round \(message.body.roundId)")
        }
        #expect(round.auditor.spent.rdp == 0)
    }

    // MARK: - Attacks on the completion

    struct Attack: Sendable, CustomTestStringConvertible {
        var name: String
        var completion: Message<RoundCompleted>
        var testDescription: String { name }
    }

    static let refused: [Attack] = [
        Attack(
            name: "a completion claiming more survivors than advertised",
            completion: completion(
                1,
                records: [record("watch", 0, survivors: 15, advertised: 9), record("watch", 1, survivors: 10)]
            )
        ),
        Attack(
            name: "records for an unknown shard (a class with no contributors)",
            completion: completion(
                1,
                records: [
                    record("watch", 0, survivors: 15), record("watch", 1, survivors: 10),
                    record("tablet", 0, survivors: 40),
                ]
            )
        ),
        Attack(
            name: "survivors inflated past the contributors, to look like more noise",
            completion: completion(
                1,
                records: [record("watch", 0, survivors: 150), record("watch", 1, survivors: 100)]
            )
        ),
        Attack(
            name: "a shard left out of the records",
            completion: completion(1, records: [record("watch", 0, survivors: 15)])
        ),
        Attack(name: "missing records under skellam", completion: completion(1, records: nil)),
        Attack(name: "an empty record list under skellam", completion: completion(1, records: [])),
        Attack(
            name: "one shard named twice",
            completion: completion(1, records: [record("watch", 0, survivors: 15), record("watch", 0, survivors: 10)])
        ),
    ]

    @Test(arguments: refused)
    func forgedRecordsAreRefusedAndTheRoundStaysAtItsApprovedCost(_ attack: Attack) throws {
        var round = try Self.machine()
        _ = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        let before = round.auditor
        let actions = round.messageReceived(.roundCompleted(attack.completion), from: Self.coordinator)
        guard actions.count == 1, case .reject(let reason, _, let roundId, _) = actions[0] else {
            Issue.record("expected one rejection, got \(actions)")
            return
        }
        #expect(reason == .malformedHeader && roundId == 1)
        #expect(round.auditor == before, "nothing recorded; the approval's minimum-survivor cost stands")
        // The honest completion is still accepted afterwards.
        let honest = round.messageReceived(.roundCompleted(Self.completion(1)), from: Self.coordinator)
        #expect(honest.contains { if case .appendToLedger = $0 { true } else { false } })
    }

    @Test func survivorsBelowTheMinimumAreRecordedAtTheirRealCostAndFlagged() throws {
        var round = try Self.machine()
        _ = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        let approved = round.auditor.spent.rdp
        // A shard released a sum of 3 (it should have failed the round instead).
        let actions = round.messageReceived(
            .roundCompleted(
                Self.completion(
                    1,
                    watches: 18,
                    records: [Self.record("watch", 0, survivors: 15), Self.record("watch", 1, survivors: 3)]
                )
            ),
            from: Self.coordinator
        )
        guard case .appendToLedger(let line)? = actions.first else {
            Issue.record("expected an append, got \(actions)")
            return
        }
        let flags = actions.compactMap { if case .flag(_, let detail) = $0 { detail } else { nil } }
        #expect(flags.count == 1 && flags.first?.contains("watch/1") == true)
        #expect(round.auditor.spent.rdp > approved, "fewer survivors, less noise: more ε than was approved")
        #expect(abs(round.auditor.spent.rdp - Self.epsilon(survivors: 3)) < 1e-12)
        let entry = try LedgerChain.decode(line)
        #expect(entry.detail?.contains("below the minimum") == true)
        #expect(entry.mechanism?.survivors == 3)
    }

    @Test func aLoneSurvivorMakesTheRoundUnboundedAndStopsTraining() throws {
        var round = try Self.machine()
        _ = round.messageReceived(.roundProposal(Self.proposal(1)), from: Self.coordinator)
        _ = round.messageReceived(
            .roundCompleted(Self.completion(1, watches: 1, records: [Self.record("watch", 0, survivors: 1)])),
            from: Self.coordinator
        )
        #expect(round.auditor.spent.rdp == .infinity)
        let verdicts = round.messageReceived(.roundProposal(Self.proposal(2)), from: Self.coordinator)
            .compactMap { if case .publishVerdict(let verdict) = $0 { verdict } else { nil } }
        #expect(verdicts.first?.denyReason == .budgetExceeded)
    }

    @Test func aGaussianRoundMayCarryRecordsAndTheLedgerKeepsThem() throws {
        var round = try Self.machine()
        _ = round.messageReceived(.roundProposal(AuditorRoundTests.proposal(1)), from: Self.coordinator)
        var completion = AuditorRoundTests.completion(1, ids: ["w-1", "w-2", "w-3"])
        completion.body.secureAggregation = [Self.record("watch", 0, survivors: 3)]
        let actions = round.messageReceived(.roundCompleted(completion), from: Self.coordinator)
        guard case .appendToLedger(let line)? = actions.first else {
            Issue.record("expected an append, got \(actions)")
            return
        }
        #expect(try LedgerChain.decode(line).secureAggregation?.first?.survivors == 3)
    }
}

extension AuditorSkellamTests {
    /// What the auditor charges is what the devices run: the encoder's parameters built from
    /// the round's settings have the auditor's sensitivity.
    @Test func devicesAndTheAuditorDeriveTheSameBounds() throws {
        let device = try #require(
            SkellamParameters(Self.settings, clipNorm: 1, dimension: 1_000, rotationSeed: 5)
        )
        let audited = Privacy.SkellamProposal(Self.settings).parameters(clipNorm: 1)
        #expect(device.encodedDimension == 1_024)
        #expect(device.l2Sensitivity == audited.l2Sensitivity)
        #expect(device.l1Sensitivity == audited.l1Sensitivity)
        #expect(SkellamParameters(Self.settings, clipNorm: 1, dimension: 1_000, rotationSeed: nil) == nil)
        #expect(SkellamParameters(Self.settings, clipNorm: 1, dimension: 1_024, rotationSeed: nil) != nil)
    }
}

extension AuditorSkellamTests {
    @Test func theOperatorsSurvivorFloorIsPolicy() throws {
        var policy = AuditorPolicy.standard
        policy.minSurvivors = 20
        let (auditor, _) = try PrivacyAuditor.start(
            configuration: AuditorConfiguration(epsilonBudget: 1_000, delta: 1e-5, pldDiscretization: nil),
            policy: policy,
            participationSalt: String(repeating: "cd", count: 32),
            signingKey: try #require(LedgerSigningKey(rawRepresentation: Array(repeating: 3, count: 32)))
        )
        var round = AuditorRound(auditor: auditor, coordinatorID: "coordinator")
        var enough = Self.settings
        enough.minimumSurvivors = 20
        let verdicts = [Self.proposal(1), Self.proposal(2, skellam: enough)].flatMap {
            round.messageReceived(.roundProposal($0), from: Self.coordinator)
                .compactMap { if case .publishVerdict(let verdict) = $0 { verdict } else { nil } }
        }
        #expect(verdicts.map(\.denyReason) == [.outsidePolicy, nil])
        #expect(verdicts.first?.detail == "minimumSurvivors = 10 < 20")
    }
}
