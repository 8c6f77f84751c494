@testable import Wire

extension Fixtures {
    static func hex(_ byte: String, _ length: Int) -> String { String(repeating: byte, count: length / byte.count) }

    static func records(_ name: String, _ byte: UInt8, _ count: Int, _ size: Int) -> Tensor {
        SecAggRecords.frame(name, [UInt8](repeating: byte, count: count * size))
    }

    static func secAggRecord(_ deviceClass: DeviceClassName, shard: Int) -> SecureAggregationRecord {
        SecureAggregationRecord(
            deviceClass: deviceClass.rawValue,
            shard: shard,
            survivors: 8,
            advertised: 10,
            degree: 6,
            threshold: 4,
            modulusBits: 20,
            valueBits: 16
        )
    }

    /// The six `secagg.*` stages, a full and (where fields are optional) a minimal case each.
    static let secAggSamples: [Sample] = [
        Sample(
            label: "secagg.keys signed",
            message: .secAggKeys(
                Message(
                    sender: "w-1",
                    body: SecAggKeys(roundId: 3, shard: 0),
                    tensors: [
                        records("keys", 0x0a, 1, SecAggRecords.keys),
                        records("signatures", 0x3d, 1, SecAggRecords.signature),
                    ]
                )
            )
        ),
        Sample(
            label: "secagg.keys unsigned",
            message: .secAggKeys(
                Message(
                    sender: "w-2",
                    body: SecAggKeys(roundId: 3, shard: 0),
                    tensors: [records("keys", 0xff, 1, SecAggRecords.keys)]
                )
            )
        ),
        Sample(
            label: "secagg.neighbours",
            message: .secAggNeighbours(
                Message(
                    sender: "agg-watch-0",
                    body: SecAggNeighbours(
                        roundId: 3,
                        shard: 0,
                        recipient: "w-1",
                        ownPoint: 1,
                        neighbours: ["w-2", "edge-a/w-3"]
                    ),
                    tensors: [
                        SecAggRecords.frame("points", [2, 0, 0, 0, 0, 0, 0, 0x80]),
                        records("keys", 0x1b, 2, SecAggRecords.keys),
                    ]
                )
            )
        ),
        Sample(
            label: "secagg.shares",
            message: .secAggShares(
                Message(
                    sender: "w-1",
                    body: SecAggShares(
                        roundId: 3,
                        shard: 0,
                        holder: "w-1",
                        sealedByHolder: true,
                        peerCount: 2
                    ),
                    tensors: [
                        SecAggRecords.frame("points", [2, 0, 0, 0, 3, 0, 0, 0]),
                        records("ciphertexts", 0x5a, 2, SecAggRecords.ciphertext),
                    ]
                )
            )
        ),
        Sample(
            label: "secagg.masked",
            message: .secAggMasked(
                Message(
                    sender: "w-1",
                    body: SecAggMasked(roundId: 3, shard: 0, modulusBits: 20),
                    // 0, 1, 2^20 − 1, 2^19 at 20 bits each, little-endian.
                    tensors: [
                        .encoded(
                            name: "masked",
                            encoding: .packedBits,
                            bytes: [0x00, 0x00, 0x10, 0x00, 0x00, 0xff, 0xff, 0x0f, 0x00, 0x80],
                            elementCount: 4
                        )
                    ]
                )
            )
        ),
        Sample(
            label: "secagg.unmask.request",
            message: .secAggUnmaskRequest(
                Message(
                    sender: "agg-watch-0",
                    body: SecAggUnmaskRequest(
                        roundId: 3,
                        shard: 0,
                        recipient: "w-1",
                        survivorCount: 2,
                        droppedCount: 1
                    ),
                    tensors: [SecAggRecords.frame("points", [2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x80])]
                )
            )
        ),
        Sample(
            label: "secagg.unmask.response",
            message: .secAggUnmaskResponse(
                Message(
                    sender: "w-1",
                    body: SecAggUnmaskResponse(
                        roundId: 3,
                        shard: 0,
                        selfMaskSeedOwners: 2,
                        maskKeyOwners: 1
                    ),
                    tensors: [
                        SecAggRecords.frame("points", [2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]),
                        records("shares", 0x01, 3, SecAggRecords.share),
                    ]
                )
            )
        ),
        Sample(
            label: "secagg.unmask.response nothing to reveal",
            message: .secAggUnmaskResponse(
                Message(
                    sender: "w-1",
                    body: SecAggUnmaskResponse(roundId: 1, shard: 2, selfMaskSeedOwners: 0, maskKeyOwners: 0),
                    tensors: [SecAggRecords.frame("points", []), records("shares", 0, 0, SecAggRecords.share)]
                )
            )
        ),
        Sample(
            label: "round.open skellam secure",
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
                        privacy: .init(placement: .skellam, clipNorm: 1, noiseMultiplier: 0, expectedCohort: 8),
                        selection: .poisson,
                        samplingRate: 1,
                        shards: [
                            .init(
                                region: .phone,
                                shard: 0,
                                endpoint: "tcp://10.0.0.6:7100",
                                members: ["p-1", "p-2", "p-3"],
                                secureAggregationEndpoint: "tcp://10.0.0.6:7101"
                            )
                        ],
                        globalEndpoint: "tcp://global.local:7200",
                        deadlineMillis: 1_700_000_030_000,
                        minParticipants: 2,
                        samplingSeed: nil,
                        secureAggregation: SecureAggregationSettings(
                            valueBits: 16,
                            clipNorm: 1,
                            dropoutRate: 0.2,
                            corruptRate: 0.05,
                            stageTimeoutMillis: 3_000,
                            skellam: SkellamSettings(
                                scale: 64,
                                deviceVariance: 400,
                                dimension: 13,
                                valueBits: 14,
                                roundingBeta: 0.5,
                                minimumSurvivors: 2
                            )
                        )
                    )
                )
            )
        ),
    ]
}
