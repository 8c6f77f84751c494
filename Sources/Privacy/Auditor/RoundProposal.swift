/// What the coordinator asks before every round.
public struct RoundProposal: Hashable, Codable, Sendable {
    public var roundID: Int
    /// q, the Poisson sampling rate of the cohort.
    public var samplingRate: Double
    /// z, the planned noise multiplier (for adaptive clipping: the accounted z, not z_Δ).
    /// Informative under `skellam`, whose cost the auditor derives from `skellam` itself.
    public var noiseMultiplier: Double
    /// C, the clip norm.
    public var clipNorm: Double
    public var placement: NoisePlacement
    /// m = q·N, the fixed DP-FedAvg denominator and the distributed-noise split.
    public var expectedCohort: Double
    /// The most contributors the round can have: the listed cohort's size, or the eligible
    /// population when devices sample themselves. A completion is clamped to it, or refused when
    /// it names more contributors.
    public var cohortBound: Int
    /// The Skellam mechanism's numbers: present exactly when `placement` is `skellam`.
    public var skellam: SkellamProposal?

    public init(
        roundID: Int,
        samplingRate: Double,
        noiseMultiplier: Double,
        clipNorm: Double,
        placement: NoisePlacement,
        expectedCohort: Double,
        cohortBound: Int,
        skellam: SkellamProposal? = nil
    ) {
        self.roundID = roundID
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.placement = placement
        self.expectedCohort = expectedCohort
        self.cohortBound = cohortBound
        self.skellam = skellam
    }

    /// The arithmetic of the round's noise.
    public var noise: DPFedAvgNoise {
        DPFedAvgNoise(
            noiseMultiplier: noiseMultiplier,
            clipNorm: clipNorm,
            placement: placement,
            expectedCohort: expectedCohort
        )
    }

    /// The Gaussian mechanism composed while the round is pending: the noise protecting one
    /// contributor when exactly the expected cohort reports (distributed: z·√((m−1)/m), see
    /// `DPFedAvgNoise`). Not the cost of a `skellam` round: see `plannedRelease`.
    public var mechanism: SubsampledGaussian {
        SubsampledGaussian(
            samplingRate: samplingRate,
            noiseMultiplier: noise.effectiveNoiseMultiplier(reporting: expectedCohort)
        )
    }

    /// What approval charges: the Gaussian mechanism above, or for `skellam` the pessimistic
    /// release in which a shard sums only the minimum number of survivors the round allows.
    public var plannedRelease: AccountedRelease {
        if let skellam, placement == .skellam {
            return .skellam(
                SkellamRelease(
                    skellam.parameters(clipNorm: clipNorm),
                    samplingRate: samplingRate,
                    survivors: skellam.minimumSurvivors
                )
            )
        }
        return .gaussian(mechanism)
    }

    var isWellFormed: Bool {
        let base =
            SubsampledGaussian(samplingRate: samplingRate, noiseMultiplier: noiseMultiplier).isValid && samplingRate > 0
            && clipNorm.isFinite && clipNorm > 0 && expectedCohort.isFinite && expectedCohort >= 1 && cohortBound >= 1
        guard base, (placement == .skellam) == (skellam != nil) else { return false }
        return skellam.map { $0.problem(clipNorm: clipNorm, cohortBound: cohortBound) == nil } ?? true
    }

    var ledgerMechanism: LedgerEntry.Mechanism {
        LedgerEntry.Mechanism(
            samplingRate: samplingRate,
            noiseMultiplier: noiseMultiplier,
            clipNorm: clipNorm,
            placement: placement,
            expectedCohort: expectedCohort,
            skellam: skellam
        )
    }
}

/// The numbers of a `skellam` round the auditor needs to bound its cost.
///
/// Why the minimum survivors is the proposal's: the auditor charges the round on approval as if
/// a shard released a sum of exactly that many devices, so a shard must never release a sum of
/// fewer (it fails the round instead); a completion reporting fewer is recorded at its real,
/// higher cost and flagged.
public struct SkellamProposal: Hashable, Codable, Sendable {
    /// γ, the scale before rounding.
    public var scale: Double
    /// μ, the Skellam variance each device adds per coordinate (integer units).
    public var deviceVariance: Double
    /// The number of integers each device sends (the update's length, padded to a power of
    /// two when rotated): the d of the sensitivity bounds.
    public var dimension: Int
    /// k: each device's values lie in ±(2^(k−1) − 1), noise included.
    public var valueBits: Int
    /// β of conditional stochastic rounding.
    public var roundingBeta: Double
    /// The fewest devices whose inputs a shard may release a sum of (≥ 2).
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

    /// The encoder's parameters as far as accounting goes (the rotation changes no bound).
    public func parameters(clipNorm: Double) -> SkellamParameters {
        SkellamParameters(
            clipNorm: clipNorm,
            scale: scale,
            deviceVariance: deviceVariance,
            dimension: dimension,
            valueBits: valueBits,
            roundingBeta: roundingBeta
        )
    }

    /// Why the auditor cannot account these numbers, or nil.
    func problem(clipNorm: Double, cohortBound: Int) -> String? {
        if let problem = parameters(clipNorm: clipNorm).problem { return problem }
        guard minimumSurvivors >= 2 else {
            return "minimumSurvivors \(minimumSurvivors) < 2: one device is unprotected"
        }
        guard minimumSurvivors <= cohortBound else {
            return "minimumSurvivors \(minimumSurvivors) > the cohort bound \(cohortBound)"
        }
        return nil
    }
}

/// One round's privacy cost as the accountants compose it.
public enum AccountedRelease: Hashable, Sendable {
    /// The (subsampled) Gaussian mechanism: RDP and PLD.
    case gaussian(SubsampledGaussian)
    /// The (subsampled) distributed Skellam mechanism: RDP only (the PLD accountant has no
    /// model of it, so a run that contains one reports no PLD ε and is enforced on RDP).
    case skellam(SkellamRelease)

    /// The Gaussian z with the same leading RDP term: what the ledger shows as effective z.
    public var effectiveNoiseMultiplier: Double {
        switch self {
        case .gaussian(let mechanism): mechanism.noiseMultiplier
        case .skellam(let release): release.equivalentNoiseMultiplier
        }
    }
}

/// One shard's secure aggregation in one round, as the auditor records it (the Wire
/// `SecureAggregationRecord`; `Privacy` does not import `Wire`).
public struct SecAggShardRecord: Hashable, Codable, Sendable {
    public var deviceClass: String
    public var shard: Int
    /// Devices whose masked input is in the unmasked sum.
    public var survivors: Int
    /// Devices that advertised keys (≥ survivors).
    public var advertised: Int
    public var degree: Int
    public var threshold: Int
    public var modulusBits: Int
    public var valueBits: Int

    public init(
        deviceClass: String,
        shard: Int,
        survivors: Int,
        advertised: Int,
        degree: Int,
        threshold: Int,
        modulusBits: Int,
        valueBits: Int
    ) {
        self.deviceClass = deviceClass
        self.shard = shard
        self.survivors = survivors
        self.advertised = advertised
        self.degree = degree
        self.threshold = threshold
        self.modulusBits = modulusBits
        self.valueBits = valueBits
    }

    /// "class/shard", how logs and details name it.
    public var slot: String { "\(deviceClass)/\(shard)" }
}

/// What the coordinator reports after a round.
public struct RoundReport: Hashable, Codable, Sendable {
    public var roundID: Int
    /// Workers whose update went into the sum, by device class.
    public var participantsByClass: [String: Int]
    /// Updates rejected, by `RejectReason` raw value (normTooLarge flags poisoned updates).
    public var rejectedByReason: [String: Int]
    /// Digest of the resulting model.
    public var modelHash: String
    /// False when nothing was released (round abandoned): the planned cost stands.
    public var released: Bool
    /// Updates whose norm exceeded the clip norm: each flags a possibly poisoned device.
    public var clippedUpdates: Int
    /// The raw ids of the workers in the released sum (nil when the coordinator sent none); the
    /// auditor stores only their hashes under its own salt.
    public var contributorIDs: [String]?
    /// One record per shard that secure-aggregated; nil when none did. Required under `skellam`.
    public var secureAggregation: [SecAggShardRecord]?

    public init(
        roundID: Int,
        participantsByClass: [String: Int],
        rejectedByReason: [String: Int] = [:],
        modelHash: String,
        released: Bool = true,
        clippedUpdates: Int = 0,
        contributorIDs: [String]? = nil,
        secureAggregation: [SecAggShardRecord]? = nil
    ) {
        self.clippedUpdates = clippedUpdates
        self.roundID = roundID
        self.participantsByClass = participantsByClass
        self.rejectedByReason = rejectedByReason
        self.modelHash = modelHash
        self.released = released
        self.contributorIDs = contributorIDs
        self.secureAggregation = secureAggregation
    }

    /// The class counts' sum, saturating (forged counts near `Int.max` must not trap).
    var classTotal: Int {
        participantsByClass.values.reduce(0) { total, count in
            let (sum, overflow) = total.addingReportingOverflow(max(count, 0))
            return overflow ? .max : sum
        }
    }
}
