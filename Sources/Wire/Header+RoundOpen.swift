/// `round.open` (coordinator PUB 7001): everything a worker and an aggregator need for a round.
///
/// Re-published until the deadline so late subscribers catch up; receivers dedupe by `roundId`.
/// Carries one tensor, `weights` (the global model, `f32le`), whose digest is `modelDigest`.
public struct RoundOpen: MessageBody {
    public static let topic = Topic.roundOpen

    /// ≥ 1.
    public var roundId: Int
    /// Training, or federated feature statistics.
    public var kind: RoundKind
    /// The version of the model in the `weights` frame (≥ 0).
    public var modelVersion: Int
    /// Lowercase hex SHA-256 of the `weights` frame.
    public var modelDigest: String
    /// The model's architecture and feature spec, owned by the learning module (a JSON object).
    public var modelSpec: JSONValue
    /// Local training hyper-parameters.
    public var training: TrainingSettings
    /// The approved privacy settings; workers clip and noise accordingly.
    public var privacy: PrivacySettings
    /// How the round's contributors are chosen; says what `shards[].members` means.
    public var selection: CohortSelection
    /// q, each population member's probability of sampling itself; present iff `selection == .poisson`.
    public var samplingRate: Double?
    /// Region shard → endpoint → members: the cohort (`listed`) or the eligible population (`poisson`).
    public var shards: [ShardAssignment]
    /// Where the global aggregator PULLs partials.
    public var globalEndpoint: String
    /// Epoch milliseconds after which updates are late.
    public var deadlineMillis: Int64
    /// Fewest contributors for the round to count (≥ 1).
    public var minParticipants: Int
    /// The sampling seed of a `listed` cohort (any 64-bit signed value), so it can be re-derived.
    /// Never sent under `poisson` selection: a published seed would let anyone recompute who trained.
    public var samplingSeed: Int?
    /// How workers encode their delta this round; absent means `f32le` as before.
    public var compression: CompressionSettings?
    /// Present iff the shards run SecAgg+ this round: devices send no plain update.
    public var secureAggregation: SecureAggregationSettings?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        kind: RoundKind,
        modelVersion: Int,
        modelDigest: String,
        modelSpec: JSONValue,
        training: TrainingSettings,
        privacy: PrivacySettings,
        selection: CohortSelection = .listed,
        samplingRate: Double? = nil,
        shards: [ShardAssignment],
        globalEndpoint: String,
        deadlineMillis: Int64,
        minParticipants: Int,
        samplingSeed: Int?,
        compression: CompressionSettings? = nil,
        secureAggregation: SecureAggregationSettings? = nil
    ) {
        self.roundId = roundId
        self.kind = kind
        self.modelVersion = modelVersion
        self.modelDigest = modelDigest
        self.modelSpec = modelSpec
        self.training = training
        self.privacy = privacy
        self.selection = selection
        self.samplingRate = samplingRate
        self.shards = shards
        self.globalEndpoint = globalEndpoint
        self.deadlineMillis = deadlineMillis
        self.minParticipants = minParticipants
        self.samplingSeed = samplingSeed
        self.compression = compression
        self.secureAggregation = secureAggregation
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("roundId", roundId, 1)
        try check.atLeast("modelVersion", modelVersion, 0)
        try check.digest("modelDigest", modelDigest)
        try check.object("modelSpec", modelSpec)
        let trainingCheck = check.nested("training")
        try trainingCheck.atLeast("epochs", training.epochs, 1)
        try trainingCheck.atLeast("batchSize", training.batchSize, 1)
        try trainingCheck.positive("learningRate", training.learningRate)
        try trainingCheck.nonNegative("l2", training.l2)
        try trainingCheck.nonNegative("proxMu", training.proxMu)
        let privacyCheck = check.nested("privacy")
        if let clipNorm = privacy.clipNorm {
            try privacyCheck.positive("clipNorm", clipNorm)
        } else {
            try privacyCheck.require(privacy.placement == .off, "clipNorm", "is required unless placement is off")
        }
        try privacyCheck.nonNegative("noiseMultiplier", privacy.noiseMultiplier)
        try privacyCheck.atLeast("expectedCohort", privacy.expectedCohort, 1)
        for (index, assignment) in shards.enumerated() {
            let shardCheck = check.nested("shards[\(index)]")
            try shardCheck.atLeast("shard", assignment.shard, 0)
            try shardCheck.endpoint("endpoint", assignment.endpoint)
            try shardCheck.ids("members", assignment.members)
            if let endpoint = assignment.secureAggregationEndpoint {
                try shardCheck.endpoint("secureAggregationEndpoint", endpoint)
            }
        }
        try check.endpoint("globalEndpoint", globalEndpoint)
        try check.atLeast("deadlineMillis", deadlineMillis, 0)
        try check.atLeast("minParticipants", minParticipants, 1)
        try compression?.validate(check.nested("compression"))
        if let secureAggregation {
            try secureAggregation.validate(check.nested("secureAggregation"))
            try check.require(kind == .train, "secureAggregation", "is only sent with a training round")
            try check.require(
                shards.allSatisfy { $0.secureAggregationEndpoint != nil },
                "secureAggregation",
                "needs every shard's secureAggregationEndpoint"
            )
            // Skellam noise is the device's part of a mechanism the auditor approved: a round
            // that names it must carry its numbers, and no other round may.
            try check.require(
                (privacy.placement == .skellam) == (secureAggregation.skellam != nil),
                "secureAggregation.skellam",
                privacy.placement == .skellam
                    ? "is required when placement is skellam" : "is only allowed when placement is skellam"
            )
        }
        switch selection {
        case .listed:
            try check.require(samplingRate == nil, "samplingRate", "is only sent with poisson selection")
        case .poisson:
            let rate = samplingRate ?? 0
            try check.require(rate.isFinite && rate > 0 && rate <= 1, "samplingRate", "\(rate) is outside (0, 1]")
            try check.require(samplingSeed == nil, "samplingSeed", "must not be sent with poisson selection")
        }
    }
}

/// Who contributes to a round, and so what a shard assignment's `members` are.
public enum CohortSelection: String, Codable, Sendable, CaseIterable {
    /// The coordinator drew the cohort; `members` are exactly the selected workers (no DP).
    case listed
    /// Each eligible worker samples itself with probability `samplingRate` from a local CSPRNG;
    /// `members` are the shard's eligible population, each of which answers with an update or
    /// a decline. Used under DP: nobody but the worker and its shard learns who was sampled.
    case poisson
}

/// Local training hyper-parameters, the same for every worker of the round.
public struct TrainingSettings: Codable, Sendable, Equatable {
    /// ≥ 1.
    public var epochs: Int
    /// ≥ 1.
    public var batchSize: Int
    /// > 0.
    public var learningRate: Double
    /// L2 regularisation, ≥ 0.
    public var l2: Double
    /// FedProx proximal coefficient μ, ≥ 0 (0 is plain FedAvg).
    public var proxMu: Double

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(epochs: Int, batchSize: Int, learningRate: Double, l2: Double, proxMu: Double) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.l2 = l2
        self.proxMu = proxMu
    }
}

/// The differential-privacy settings the auditor approved for this round.
public struct PrivacySettings: Codable, Sendable, Equatable {
    /// Where noise is added (`off` disables DP).
    public var placement: NoisePlacement
    /// The L2 clip norm C (> 0); may be absent only when `placement == .off`.
    public var clipNorm: Double?
    /// The noise multiplier z (≥ 0); noise std is z·C.
    public var noiseMultiplier: Double
    /// The fixed DP-FedAvg denominator (≥ 1): the expected cohort size.
    public var expectedCohort: Int

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(placement: NoisePlacement, clipNorm: Double?, noiseMultiplier: Double, expectedCohort: Int) {
        self.placement = placement
        self.clipNorm = clipNorm
        self.noiseMultiplier = noiseMultiplier
        self.expectedCohort = expectedCohort
    }
}

/// One live region shard, where its members PUSH their updates.
public struct ShardAssignment: Codable, Sendable, Equatable {
    /// The region (device class) of the shard.
    public var region: DeviceClassName
    /// ≥ 0.
    public var shard: Int
    /// Where the shard PULLs updates.
    public var endpoint: String
    /// Worker ids, unique.
    public var members: [String]
    /// Where the shard's ROUTER takes the `secagg.*` stages (each device connects a DEALER).
    public var secureAggregationEndpoint: String?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        region: DeviceClassName,
        shard: Int,
        endpoint: String,
        members: [String],
        secureAggregationEndpoint: String? = nil
    ) {
        self.region = region
        self.shard = shard
        self.endpoint = endpoint
        self.members = members
        self.secureAggregationEndpoint = secureAggregationEndpoint
    }
}

/// The update encoding of a round, chosen by the coordinator and the same for every worker.
///
/// Everything a shard needs to decode an update is here, not in the update: the quantization
/// range is shared by the cohort (so integer levels from different workers add up, which
/// secure aggregation needs), and the seed of the random subset and rotation is a public
/// per-round value (it says nothing about who trained; it is not the sampling seed).
public struct CompressionSettings: Codable, Sendable, Equatable {
    /// How each kept value is written: `f32le`, or stochastic rounding to 8 or 4 bits.
    public var quantization: Quantization
    /// Which coordinates are sent.
    public var sparsification: Sparsification
    /// The fraction F of coordinates kept by `topk` / `randk`, in (0, 1]; absent for `none`.
    public var fraction: Double?
    /// Whether the kept values pass a randomized Hadamard rotation before quantization.
    public var rotate: Bool
    /// R: quantized values lie in [−R, R] (> 0, finite); present iff `quantization` is not `f32`.
    public var range: Double?
    /// The public per-round seed of the `randk` subset and the rotation's signs; present iff one is used.
    public var seed: Int?

    /// Creates the setting; `validate()` (run by the codec) checks the ranges.
    public init(
        quantization: Quantization,
        sparsification: Sparsification,
        fraction: Double? = nil,
        rotate: Bool = false,
        range: Double? = nil,
        seed: Int? = nil
    ) {
        self.quantization = quantization
        self.sparsification = sparsification
        self.fraction = fraction
        self.rotate = rotate
        self.range = range
        self.seed = seed
    }

    /// The value encoding of a quantized coordinate.
    public enum Quantization: String, Codable, Sendable, CaseIterable {
        case f32, q8, q4
    }

    /// Which coordinates a worker sends.
    public enum Sparsification: String, Codable, Sendable, CaseIterable {
        /// All of them.
        case none
        /// The ⌈F·d⌉ largest in magnitude, with their indices; the rest stays on the device (error feedback).
        case topk
        /// ⌈F·d⌉ coordinates drawn from the public seed, the same for every worker: no index frame.
        case randk

        /// Whether the sum keeps the noise the auditor charges for under `placement`. Under
        /// distributed noise a device is protected by the OTHER devices' shares in the sum; top-k
        /// keeps each device's own largest noised coordinates, so a coordinate of the sum holds
        /// only the shares of the devices that kept it (where one stands out, its own alone).
        /// The coordinator, the devices and the shards all refuse such a round on this rule.
        public func keepsChargedNoise(under placement: NoisePlacement) -> Bool {
            !(placement == .distributed && self == .topk)
        }
    }

    /// Whether the sum of encoded updates is the encoding of the sum (true unless `topk`, whose
    /// coordinates differ per worker): the encodings that compose with secure aggregation.
    public var isLinear: Bool { sparsification != .topk }

    func validate(_ check: FieldCheck) throws(WireError) {
        switch sparsification {
        case .none:
            try check.require(fraction == nil, "fraction", "is only sent with topk or randk")
        case .topk, .randk:
            let value = fraction ?? 0
            try check.require(value.isFinite && value > 0 && value <= 1, "fraction", "\(value) is outside (0, 1]")
        }
        if quantization == .f32 {
            try check.require(range == nil, "range", "is only sent with q8 or q4")
        } else {
            let value = range ?? 0
            try check.require(value.isFinite && value > 0 && value <= 1e6, "range", "\(value) is outside (0, 1e6]")
        }
        let needsSeed = rotate || sparsification == .randk
        try check.require(
            (seed != nil) == needsSeed,
            "seed",
            needsSeed ? "is required" : "is only sent with randk or rotate"
        )
    }
}
