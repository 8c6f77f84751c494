@testable import Wire

extension Fixtures {
    /// Messages about a round: audit events, privacy verdicts, summaries, ledger lines, the end.
    static let reportSamples: [Sample] = [
        Sample(
            label: "audit.event full",
            message: .auditEvent(
                Message(
                    sender: "agg-phone-1",
                    body: AuditEvent(
                        role: "region",
                        roundId: 3,
                        kind: "update.rejected",
                        reason: RejectReason.duplicate.rawValue,
                        count: 2,
                        detail: .object(["workers": .array([.string("w-2")]), "ratio": .number(0.5)])
                    )
                )
            )
        ),
        Sample(
            label: "audit.event minimal",
            message: .auditEvent(
                Message(
                    sender: "global",
                    body: AuditEvent(
                        role: "global",
                        kind: "noise.added"
                    )
                )
            )
        ),
        Sample(
            label: "round.proposal",
            message: .roundProposal(
                Message(
                    sender: "coordinator",
                    body: RoundProposal(
                        roundId: 4,
                        samplingRate: 1,
                        noiseMultiplier: 1.1,
                        clipNorm: 1.5,
                        placement: .distributed,
                        expectedCohort: 40,
                        population: 1000,
                        selected: ["9f2c", "a1b2"]
                    )
                )
            )
        ),
        Sample(
            label: "round.proposal skellam",
            message: .roundProposal(
                Message(
                    sender: "coordinator",
                    body: RoundProposal(
                        roundId: 5,
                        samplingRate: 0.05,
                        noiseMultiplier: 1,
                        clipNorm: 1,
                        placement: .skellam,
                        expectedCohort: 50,
                        population: 1000,
                        selected: [],
                        skellam: SkellamSettings(
                            scale: 64,
                            deviceVariance: 400,
                            dimension: 1024,
                            valueBits: 14,
                            roundingBeta: 0.6065306597126334,
                            minimumSurvivors: 20
                        )
                    )
                )
            )
        ),
        Sample(
            label: "round.verdict full",
            message: .roundVerdict(
                Message(
                    sender: "auditor",
                    body: RoundVerdict(
                        roundId: 4,
                        approved: false,
                        epsilon: 8.25,
                        delta: 1e-5,
                        epsilonBudget: 8,
                        accountant: .pld,
                        reason: RoundVerdict.DenyReason.budgetExceeded.rawValue,
                        detail: "ε would reach 8.25 > budget 8"
                    )
                )
            )
        ),
        Sample(
            label: "round.verdict minimal",
            message: .roundVerdict(
                Message(
                    sender: "auditor",
                    body: RoundVerdict(
                        roundId: 1,
                        approved: true,
                        epsilon: 0,
                        delta: 0,
                        epsilonBudget: 0,
                        accountant: .rdp
                    )
                )
            )
        ),
        Sample(
            label: "round.completed full",
            message: .roundCompleted(
                Message(
                    sender: "coordinator",
                    body: RoundCompleted(
                        roundId: 3,
                        modelVersion: 3,
                        modelDigest: digest,
                        participants: ParticipantCounts(["watch": 12, "ring": 3]),
                        contributors: 12,
                        rejected: ["staleRound": 3, "normTooLarge": 1],
                        clippedCount: 1,
                        effectiveNoiseMultiplier: 1.1,
                        metrics: metrics,
                        contributorIds: ["w-1", "w-2"],
                        secureAggregation: [secAggRecord(.watch, shard: 0)]
                    )
                )
            )
        ),
        Sample(
            label: "round.completed minimal",
            message: .roundCompleted(
                Message(
                    sender: "coordinator",
                    body: RoundCompleted(
                        roundId: 1,
                        modelVersion: 1,
                        modelDigest: digest,
                        participants: ParticipantCounts(),
                        contributors: 0,
                        clippedCount: 0,
                        effectiveNoiseMultiplier: 0
                    )
                )
            )
        ),
        Sample(
            label: "round.summary full",
            message: .roundSummary(
                Message(
                    sender: "coordinator",
                    body: RoundSummary(
                        round: 3,
                        roundId: 4,
                        modelVersion: 3,
                        participants: ParticipantCounts(phone: 20),
                        contributors: 20,
                        accuracy: 0.91,
                        loss: 0.25,
                        federatedAccuracy: 0.88,
                        seconds: 2.5,
                        bytesUp: 1_000_000,
                        bytesDown: 2_000_000,
                        epsilon: 1.25,
                        rejected: ["normTooLarge": 2, "unauthorizedSender": 1],
                        secureAggregation: [secAggRecord(.phone, shard: 0)]
                    )
                )
            )
        ),
        Sample(
            label: "round.summary minimal",
            message: .roundSummary(
                Message(
                    sender: "coordinator",
                    body: RoundSummary(
                        round: 1,
                        roundId: 1,
                        modelVersion: 1,
                        participants: ParticipantCounts(),
                        contributors: 0,
                        seconds: 0,
                        bytesUp: 0,
                        bytesDown: 0
                    )
                )
            )
        ),
        Sample(
            label: "ledger.entry",
            message: .ledgerEntry(
                Message(
                    sender: "auditor",
                    body: LedgerEntryMessage(
                        sequence: 0,
                        line: #"{"prev":"0000","round":1,"epsilon":0.5,"note":"tab\there"}"#
                    )
                )
            )
        ),
        Sample(
            label: "run.end",
            message: .runEnd(
                Message(
                    sender: "coordinator",
                    sentAtMillis: 9,
                    body: RunEnd(
                        reason: "budgetExhausted",
                        finalRound: 0,
                        modelVersion: 0
                    )
                )
            )
        ),
    ]
}
