public import Federation
public import Learning
public import Wire

/// What a coordinator round needs from its configuration: plain values, no endpoints or files.
public struct CoordinatorSettings: Sendable {
    /// The `sender` of everything the coordinator encodes.
    public var id = "coordinator"
    public var rounds = 10
    public var seed: UInt64 = 1
    public var cohort: CohortRule = .all
    public var minParticipants = 1
    /// Workers that must have checked in before the first round opens (waited for up to 60 s).
    public var waitForWorkers = 1
    public var roundTimeoutMillis: Int64 = 5_000
    public var republishIntervalMillis: Int64 = 200
    public var workerTimeoutMillis: Int64 = 10_000
    public var aggregatorTimeoutMillis: Int64 = 3_000
    public var training = TrainingSettings(epochs: 2, batchSize: 16, learningRate: 0.1, l2: 1e-4, proxMu: 0)
    /// Placement, clip norm and noise multiplier; the expected cohort is filled in each round.
    public var privacy = PrivacySettings(placement: .off, clipNorm: nil, noiseMultiplier: 0, expectedCohort: 1)
    /// Calibrate z once so that `rounds` rounds at the first round's q spend at most this ε.
    public var targetEpsilon: Double?
    public var delta = 1e-5
    /// How many rounds one device may contribute to (nil: no cap).
    public var participationCap: Int?
    /// Whether an auditor approves every round; required under DP.
    public var hasAuditor = false
    /// A central hold-out (unscaled, so it follows the spec's scaling) to evaluate each model on.
    public var holdout: RawRecords?
    /// Run a federated feature statistics round first.
    public var featureStatistics = false
    public var targetAccuracy: Double?
    /// Most workers the registry holds; check-ins from new ids past it are refused (`bufferFull`).
    public var maxWorkers = 100_000
    /// Consecutive denies (other than for the budget) after which the run ends (`auditorDenied`).
    public var maxDenies = 5
    /// Candidate weights beyond this magnitude are refused (`overflow`): a real model of scaled
    /// features is orders of magnitude smaller, and such weights overflow Float logits in evaluation.
    public var maxWeightMagnitude: Float = 1e6
    /// The codec limits of the broadcast: `round.open` is cut to fit them, never sent too big.
    public var limits = WireLimits.default

    /// How workers encode their deltas (`--compression`); announced in every training round's `round.open`.
    public var compression: CompressionChoice = .none
    /// R, the shared quantization range without DP (`--compression-range`); under DP it is derived.
    public var compressionRange: Double?
    /// SecAgg+ in every shard of every training round (`--secure-aggregation`); nil for plain sums.
    public var secureAggregation: SecureAggregationSettings?

    public init() {}

    /// The round's compression setting, nil for plain `f32le` or a statistics round.
    ///
    /// The range rule: under central DP R = C (a clipped update's coordinates lie in [−C, C],
    /// and a rotation keeps the norm, so they stay there); under distributed or local noise
    /// R = C + 4σ_w, σ_w the worker's noise share (a coordinate beyond is clamped, probability
    /// about 6e-5 each); without DP the operator's `--compression-range`, else C, else 1.
    /// The public seed of `randk` and the rotation mixes the run's seed with the round id: it
    /// is not the sampling seed and says nothing about who trains.
    public func compressionSettings(privacy: PrivacySettings, kind: RoundKind, roundId: Int) -> CompressionSettings? {
        guard kind == .train, compression.isCompressed else { return nil }
        var range = compressionRange ?? privacy.clipNorm ?? 1
        if privacy.placement != .off, let clipNorm = privacy.clipNorm {
            range = clipNorm
            if privacy.placement == .distributed || privacy.placement == .local {
                let shares = privacy.placement == .distributed ? Double(max(1, privacy.expectedCohort)) : 1
                range += 4 * privacy.noiseMultiplier * clipNorm / shares.squareRoot()
            }
        }
        var mixer = SeededGenerator(seed: seed, stream: 0x636F_6D70, UInt64(truncatingIfNeeded: roundId))
        return compression.settings(range: min(range, 1e6), seed: Int(truncatingIfNeeded: mixer.next()))
    }

    /// Whether differential privacy is on (any placement but `off`).
    public var isPrivate: Bool { privacy.placement != .off }

    /// How long after the shards' deadline the global aggregator may take to deliver the model.
    public var candidateGraceMillis: Int64 { max(2_000, roundTimeoutMillis / 2) }
}

/// How a round's contributors are chosen, resolved against the live population each round.
public enum CohortRule: Sendable, Equatable {
    /// Every eligible worker (listed, no DP; or q = 1 under DP).
    case all
    /// Exactly this many eligible workers, listed; refused under DP (another accountant needed).
    case fixedSize(Int)
    /// Each eligible worker with probability `rate`: listed by the coordinator without DP,
    /// self-sampled on the devices under DP.
    case poisson(rate: Double)
}
