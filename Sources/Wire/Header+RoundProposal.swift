/// `round.proposal` (coordinator → auditor PULL 7300): the privacy cost of a round, before it runs.
///
/// The auditor approves or denies from these numbers alone; no answer means no round. Only the
/// coordinator (the auditor's `--coordinator-id`) may send it.
public struct RoundProposal: MessageBody {
    public static let topic = Topic.roundProposal
    public static let carriesTensors = false

    /// ≥ 1.
    public var roundId: Int
    /// Poisson sampling rate q, in (0, 1].
    public var samplingRate: Double
    /// z, ≥ 0.
    public var noiseMultiplier: Double
    /// C, > 0.
    public var clipNorm: Double
    /// Where noise is added (`off` disables DP).
    public var placement: NoisePlacement
    /// ≥ 1.
    public var expectedCohort: Int
    /// Eligible workers sampled from (≥ 1).
    public var population: Int
    /// Salted hashes of the listed cohort's device ids (unique); empty when devices sample
    /// themselves. The auditor uses only their number, as the bound on the round's contributors
    /// (the population under self-selection); the ledger records the contributors at completion,
    /// hashed under the auditor's own salt.
    public var selected: [String]
    /// The Skellam mechanism's numbers: present exactly when `placement` is `skellam`.
    public var skellam: SkellamSettings?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        samplingRate: Double,
        noiseMultiplier: Double,
        clipNorm: Double,
        placement: NoisePlacement,
        expectedCohort: Int,
        population: Int,
        selected: [String],
        skellam: SkellamSettings? = nil
    ) {
        self.roundId = roundId
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.placement = placement
        self.expectedCohort = expectedCohort
        self.population = population
        self.selected = selected
        self.skellam = skellam
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("roundId", roundId, 1)
        try check.require(samplingRate > 0 && samplingRate <= 1, "samplingRate", "\(samplingRate) is outside (0, 1]")
        try check.nonNegative("noiseMultiplier", noiseMultiplier)
        try check.positive("clipNorm", clipNorm)
        try check.atLeast("expectedCohort", expectedCohort, 1)
        try check.atLeast("population", population, 1)
        try check.ids("selected", selected)
        try check.require(
            (placement == .skellam) == (skellam != nil),
            "skellam",
            placement == .skellam
                ? "is required when placement is skellam" : "is only allowed when placement is skellam"
        )
        try skellam?.validate(check.nested("skellam"))
    }
}

/// What a `skellam` round's devices and shards agree on, and the auditor charges from: each
/// device clips to `clipNorm`, scales by `scale`, rounds, adds Skellam noise of variance
/// `deviceVariance` to each of `dimension` integers that fit `valueBits`; a shard releases no
/// sum of fewer than `minimumSurvivors` devices.
public struct SkellamSettings: Codable, Sendable, Equatable {
    /// γ, > 0.
    public var scale: Double
    /// μ per device and coordinate, integer units, 0 … 2^41.
    public var deviceVariance: Double
    /// Integers each device sends (padded to a power of two when rotated), 1 … 2^26.
    public var dimension: Int
    /// Bits per device value, noise included, 2 … 62.
    public var valueBits: Int
    /// β of conditional stochastic rounding, in [0, 1).
    public var roundingBeta: Double
    /// The fewest survivors a shard may release a sum of, ≥ 2.
    public var minimumSurvivors: Int

    public init(
        scale: Double,
        deviceVariance: Double,
        dimension: Int,
        valueBits: Int,
        roundingBeta: Double,
        minimumSurvivors: Int
    ) {
        self.scale = scale
        self.deviceVariance = deviceVariance
        self.dimension = dimension
        self.valueBits = valueBits
        self.roundingBeta = roundingBeta
        self.minimumSurvivors = minimumSurvivors
    }

    func validate(_ check: FieldCheck) throws(WireError) {
        try check.positive("scale", scale)
        try check.nonNegative("deviceVariance", deviceVariance)
        try check.require(deviceVariance <= 0x1p41, "deviceVariance", "\(deviceVariance) > 2^41")
        try check.range("dimension", dimension, 1...(1 << 26))
        try check.range("valueBits", valueBits, 2...62)
        try check.require(
            roundingBeta.isFinite && roundingBeta >= 0 && roundingBeta < 1,
            "roundingBeta",
            "\(roundingBeta) is outside [0, 1)"
        )
        try check.atLeast("minimumSurvivors", minimumSurvivors, 2)
    }
}
