/// `round.proposal` (coordinator → auditor PULL 7300): the privacy cost of a round, before it runs.
///
/// The auditor approves or denies from these numbers alone; no answer means no round. Only the
/// coordinator (the auditor's `--coordinator-id`) may send it.
public struct RoundProposal: MessageBody {
    public static let topic = Topic.roundProposal

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

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        samplingRate: Double,
        noiseMultiplier: Double,
        clipNorm: Double,
        placement: NoisePlacement,
        expectedCohort: Int,
        population: Int,
        selected: [String]
    ) {
        self.roundId = roundId
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.placement = placement
        self.expectedCohort = expectedCohort
        self.population = population
        self.selected = selected
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
    }
}
