@testable import Wire

extension Fixtures {
    /// Every topic, with optional fields both present (`full`) and absent (`minimal`).
    static let samples: [Sample] = roundSamples + reportSamples + secAggSamples

    /// Messages of the round itself: check-in, registration, model, updates and sums.
    static let roundSamples: [Sample] = [
        Sample(
            label: "checkin",
            message: .checkin(
                Message(
                    sender: "w-17",
                    sentAtMillis: 1_700_000_000_123,
                    body: Checkin(
                        workerId: "w-17",
                        deviceClass: .watch,
                        eligibility: .init(consent: true, charging: false, unmetered: true, batteryPercent: 100),
                        trainExamples: 240,
                        holdoutExamples: 0
                    )
                )
            )
        ),
        Sample(
            label: "aggregator.hello region full",
            message: .aggregatorHello(
                Message(
                    sender: "agg-watch-0",
                    body: AggregatorHello(
                        aggregatorId: "agg-watch-0",
                        tier: .region,
                        region: .watch,
                        shard: 0,
                        endpoint: "tcp://10.0.0.5:7100",
                        sequence: 0,
                        intervalMillis: 1000,
                        secureAggregationEndpoint: "tcp://10.0.0.5:7101"
                    )
                )
            )
        ),
        Sample(
            label: "aggregator.hello global minimal",
            message: .aggregatorHello(
                Message(
                    sender: "global",
                    body: AggregatorHello(
                        aggregatorId: "global",
                        tier: .global,
                        sequence: 7,
                        intervalMillis: 500
                    )
                )
            )
        ),
        Sample(
            label: "round.open central",
            message: .roundOpen(
                Message(
                    sender: "coordinator",
                    sentAtMillis: 0,
                    body: RoundOpen(
                        roundId: 3,
                        kind: .train,
                        modelVersion: 2,
                        modelDigest: digest,
                        modelSpec: modelSpec,
                        training: .init(epochs: 2, batchSize: 32, learningRate: 0.05, l2: 1e-4, proxMu: 0),
                        privacy: .init(placement: .central, clipNorm: 1.5, noiseMultiplier: 1.1, expectedCohort: 40),
                        shards: [
                            .init(
                                region: .watch,
                                shard: 0,
                                endpoint: "tcp://10.0.0.5:7100",
                                members: ["w-1", "w-2"],
                                secureAggregationEndpoint: "tcp://10.0.0.5:7101"
                            ),
                            .init(
                                region: .phone,
                                shard: 1,
                                endpoint: "ipc:///tmp/fedpulse/phone-1",
                                members: [],
                                secureAggregationEndpoint: "ipc:///tmp/fedpulse/phone-1-secagg"
                            ),
                        ],
                        globalEndpoint: "tcp://global.local:7200",
                        deadlineMillis: 1_700_000_030_000,
                        minParticipants: 10,
                        samplingSeed: -(1 << 52),
                        compression: CompressionSettings(
                            quantization: .q8,
                            sparsification: .randk,
                            fraction: 0.1,
                            rotate: true,
                            range: 0.5,
                            seed: -7
                        ),
                        secureAggregation: SecureAggregationSettings(
                            valueBits: 16,
                            clipNorm: 1.5,
                            dropoutRate: 0.2,
                            corruptRate: 0.05,
                            stageTimeoutMillis: 3_000
                        )
                    ),
                    tensors: [weights()]
                )
            )
        ),
        Sample(
            label: "round.open off minimal",
            message: .roundOpen(
                Message(
                    sender: "coordinator",
                    body: RoundOpen(
                        roundId: 1,
                        kind: .statistics,
                        modelVersion: 0,
                        modelDigest: digest,
                        modelSpec: .object([:]),
                        training: .init(epochs: 1, batchSize: 1, learningRate: 1, l2: 0, proxMu: 0.5),
                        privacy: .init(placement: .off, clipNorm: nil, noiseMultiplier: 0, expectedCohort: 1),
                        shards: [],
                        globalEndpoint: "tcp://127.0.0.1:7200",
                        deadlineMillis: 0,
                        minParticipants: 1,
                        samplingSeed: nil
                    )
                )
            )
        ),
        Sample(
            label: "update train full",
            message: .update(
                Message(
                    sender: "w-2",
                    sentAtMillis: 5,
                    body: Update(
                        roundId: 3,
                        modelVersion: 2,
                        workerId: "w-2",
                        deviceClass: .phone,
                        shard: 1,
                        weight: 240,
                        norm: 3.75,
                        clipped: true,
                        metrics: metrics
                    ),
                    tensors: [.f32le(name: "delta", awkwardFloats)]
                )
            )
        ),
        Sample(
            label: "update statistics minimal",
            message: .update(
                Message(
                    sender: "w-3",
                    body: Update(
                        roundId: 1,
                        modelVersion: 0,
                        workerId: "w-3",
                        deviceClass: .tablet,
                        shard: 0,
                        weight: 0,
                        norm: 0,
                        clipped: false
                    ),
                    tensors: [.f32le(name: "sum", [1, 2, 3]), .f32le(name: "sumSquares", [1, 4, 9])]
                )
            )
        ),
        Sample(
            label: "partial full",
            message: .partial(
                Message(
                    sender: "agg-phone-1",
                    body: Partial(
                        roundId: 3,
                        modelVersion: 2,
                        region: .phone,
                        shard: 1,
                        contributors: 2,
                        weightSum: 480.5,
                        members: ["w-2", "w-9"],
                        metrics: metrics,
                        rejected: ["duplicate": 1, "nonFinite": 2],
                        clippedCount: 1,
                        bytesUp: 4096,
                        secureAggregation: secAggRecord(.phone, shard: 1)
                    ),
                    tensors: [.f32le(name: "sum", awkwardFloats)]
                )
            )
        ),
        Sample(
            label: "partial minimal",
            message: .partial(
                Message(
                    sender: "agg-watch-0",
                    body: Partial(
                        roundId: 1,
                        modelVersion: 0,
                        region: .watch,
                        shard: 0,
                        contributors: 0,
                        weightSum: 0,
                        members: [],
                        clippedCount: 0
                    )
                )
            )
        ),
        Sample(
            label: "model.candidate full",
            message: .modelCandidate(
                Message(
                    sender: "global",
                    body: ModelCandidate(
                        roundId: 3,
                        modelVersion: 3,
                        modelDigest: digest,
                        participants: ParticipantCounts(watch: 12, phone: 20, tablet: 0),
                        contributors: 32,
                        weightSum: 7000,
                        denominator: 40,
                        noiseStd: 1.65,
                        metrics: metrics,
                        shardsReported: ["watch/0", "phone/1"],
                        shardsMissing: ["tablet/0"],
                        clippedCount: 4,
                        bytesUp: 1_048_576,
                        rejected: ["duplicate": 2],
                        effectiveNoiseMultiplier: 1.1,
                        contributorIds: ["w-1", "w-2"],
                        secureAggregation: [secAggRecord(.watch, shard: 0), secAggRecord(.phone, shard: 1)]
                    ),
                    tensors: [weights()]
                )
            )
        ),
        Sample(
            label: "model.candidate statistics minimal",
            message: .modelCandidate(
                Message(
                    sender: "global",
                    body: ModelCandidate(
                        roundId: 1,
                        modelVersion: 1,
                        modelDigest: digest,
                        participants: ParticipantCounts(),
                        contributors: 0,
                        weightSum: 0,
                        denominator: 0,
                        noiseStd: 0,
                        shardsReported: [],
                        shardsMissing: [],
                        clippedCount: 0
                    ),
                    tensors: [.f32le(name: "mean", [0.5]), .f32le(name: "std", [1])]
                )
            )
        ),
        Sample(
            label: "round.open poisson",
            message: .roundOpen(
                Message(
                    sender: "coordinator",
                    body: RoundOpen(
                        roundId: 4,
                        kind: .train,
                        modelVersion: 3,
                        modelDigest: digest,
                        modelSpec: .object([:]),
                        training: .init(epochs: 1, batchSize: 8, learningRate: 0.1, l2: 0, proxMu: 0),
                        privacy: .init(placement: .central, clipNorm: 0.5, noiseMultiplier: 1, expectedCohort: 20),
                        selection: .poisson,
                        samplingRate: 0.5,
                        shards: [
                            .init(region: .watch, shard: 0, endpoint: "tcp://127.0.0.1:7100", members: ["w-1", "w-2"])
                        ],
                        globalEndpoint: "tcp://127.0.0.1:7200",
                        deadlineMillis: 10,
                        minParticipants: 1,
                        samplingSeed: nil
                    ),
                    tensors: [weights()]
                )
            )
        ),
        Sample(
            label: "update declined",
            message: .update(
                Message(
                    sender: "w-1",
                    body: .decline(roundId: 4, modelVersion: 3, workerId: "w-1", deviceClass: .watch, shard: 0)
                )
            )
        ),
    ]
}
