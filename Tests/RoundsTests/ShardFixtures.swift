import Wire

@testable import Rounds

/// Plain values for the shard and global state-machine tests: a four-parameter model, a watch
/// shard 0 with three members, and a stand-in digest (the real one is SHA-256 in the shell).
enum ShardFixtures {
    static let parameters = 4
    static let members = ["watch-0", "watch-1", "watch-2"]
    static let roundId = 5
    static let modelVersion = 2
    static let deadline: Int64 = 10_000
    static let clipNorm = 1.0

    /// FNV-1a, hex: deterministic and sensitive to every byte, which is all a test digest needs.
    @Sendable static func digest(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    static func privacy(_ placement: NoisePlacement, noise: Double = 0.5, cohort: Int = 3) -> PrivacySettings {
        PrivacySettings(
            placement: placement,
            clipNorm: placement == .off ? nil : clipNorm,
            noiseMultiplier: placement == .off ? 0 : noise,
            expectedCohort: cohort
        )
    }

    static func open(
        roundId: Int = roundId,
        privacy: PrivacySettings = privacy(.central),
        selection: CohortSelection = .listed,
        shards: [ShardAssignment] = [
            ShardAssignment(region: .watch, shard: 0, endpoint: "tcp://127.0.0.1:7100", members: members)
        ],
        weights: [Float] = [Float](repeating: 0, count: parameters)
    ) -> Message<RoundOpen> {
        var tensor = Tensor.f32le(name: "weights", weights)
        tensor.sha256 = digest(tensor.bytes)
        let body = RoundOpen(
            roundId: roundId,
            kind: .train,
            modelVersion: modelVersion,
            modelDigest: digest(tensor.bytes),
            modelSpec: .object([:]),
            training: TrainingSettings(epochs: 1, batchSize: 8, learningRate: 0.1, l2: 0, proxMu: 0),
            privacy: privacy,
            selection: selection,
            samplingRate: selection == .poisson ? 0.5 : nil,
            shards: shards,
            globalEndpoint: "tcp://127.0.0.1:7200",
            deadlineMillis: deadline,
            minParticipants: 1,
            samplingSeed: selection == .poisson ? nil : 1
        )
        return Message(sender: "coordinator", body: body, tensors: [tensor])
    }

    /// An honest update: a delta of `value` in every element, the digest right, sent by its worker.
    static func update(
        _ worker: String,
        value: Float = 0.1,
        roundId: Int = roundId,
        modelVersion: Int = modelVersion,
        deviceClass: DeviceClassName = .watch,
        shard: Int = 0,
        weight: Double = 1,
        metrics: MetricsSummary? = nil,
        elements: Int = parameters
    ) -> Message<Update> {
        var delta = Tensor.f32le(name: "delta", [Float](repeating: value, count: elements))
        delta.sha256 = digest(delta.bytes)
        let body = Update(
            roundId: roundId,
            modelVersion: modelVersion,
            workerId: worker,
            deviceClass: deviceClass,
            shard: shard,
            weight: weight,
            norm: 0,
            clipped: false,
            metrics: metrics
        )
        return Message(sender: worker, body: body, tensors: [delta])
    }

    static func decline(_ worker: String) -> Message<Update> {
        Message(
            sender: worker,
            body: .decline(
                roundId: roundId,
                modelVersion: modelVersion,
                workerId: worker,
                deviceClass: .watch,
                shard: 0
            )
        )
    }

    static func shard(earlyBytes: Int = 64 << 20, earlyCount: Int = 4_096) -> ShardRound {
        var configuration = ShardRound.Configuration(region: .watch, shard: 0, digest: digest)
        configuration.earlyBufferBytes = earlyBytes
        configuration.earlyBufferCount = earlyCount
        return ShardRound(configuration: configuration)
    }
}

extension Array where Element == ShardAction {
    /// The reasons of the rejections among the actions.
    var rejections: [RejectReason] {
        compactMap { if case .reject(let reason, _, _, _) = $0 { reason } else { nil } }
    }

    /// The partial among the actions, if one was sent.
    var partial: (body: Partial, tensors: [Tensor])? {
        for action in self { if case .sendPartial(let body, let tensors) = action { return (body, tensors) } }
        return nil
    }

    var accepted: [String] {
        compactMap { if case .note(.updateAccepted(let worker, _, _)) = $0 { worker } else { nil } }
    }
}
