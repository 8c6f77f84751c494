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
        samplingSeed: Int?
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
        }
        try check.endpoint("globalEndpoint", globalEndpoint)
        try check.atLeast("deadlineMillis", deadlineMillis, 0)
        try check.atLeast("minParticipants", minParticipants, 1)
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

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(region: DeviceClassName, shard: Int, endpoint: String, members: [String]) {
        self.region = region
        self.shard = shard
        self.endpoint = endpoint
        self.members = members
    }
}
