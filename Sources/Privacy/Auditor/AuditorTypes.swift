/// How the auditor is set up for a run; recorded in the ledger header.
public struct AuditorConfiguration: Hashable, Codable, Sendable {
    /// Which ε the budget is enforced on.
    public enum Enforcement: String, Codable, Hashable, Sendable, CaseIterable {
        /// The RDP bound (always available, cheap).
        case rdp
        /// The PLD bound (tighter; needs the PLD accountant on).
        case pld
        /// The smaller of the two; both are valid upper bounds, so their minimum is too.
        case tightest
    }

    /// The total ε the run may spend.
    public var epsilonBudget: Double
    /// The δ of every (ε, δ) statement.
    public var delta: Double
    public var enforcement: Enforcement
    /// PLD grid step; nil turns the PLD accountant off (RDP only).
    public var pldDiscretization: Double?

    public init(
        epsilonBudget: Double,
        delta: Double,
        enforcement: Enforcement = .tightest,
        pldDiscretization: Double? = 1e-4
    ) {
        self.epsilonBudget = epsilonBudget
        self.delta = delta
        self.enforcement = enforcement
        self.pldDiscretization = pldDiscretization
    }
}

/// What the coordinator asks before every round.
public struct RoundProposal: Hashable, Codable, Sendable {
    public var roundID: Int
    /// q, the Poisson sampling rate of the cohort.
    public var samplingRate: Double
    /// z, the planned noise multiplier (for adaptive clipping: the accounted z, not z_Δ).
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

    public init(
        roundID: Int,
        samplingRate: Double,
        noiseMultiplier: Double,
        clipNorm: Double,
        placement: NoisePlacement,
        expectedCohort: Double,
        cohortBound: Int
    ) {
        self.roundID = roundID
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.placement = placement
        self.expectedCohort = expectedCohort
        self.cohortBound = cohortBound
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

    /// The mechanism composed while the round is pending: the noise protecting one contributor
    /// when exactly the expected cohort reports (distributed: z·√((m−1)/m), see `DPFedAvgNoise`).
    public var mechanism: SubsampledGaussian {
        SubsampledGaussian(
            samplingRate: samplingRate,
            noiseMultiplier: noise.effectiveNoiseMultiplier(reporting: expectedCohort)
        )
    }

    var isWellFormed: Bool {
        SubsampledGaussian(samplingRate: samplingRate, noiseMultiplier: noiseMultiplier).isValid && samplingRate > 0
            && clipNorm.isFinite && clipNorm > 0 && expectedCohort.isFinite && expectedCohort >= 1 && cohortBound >= 1
    }

    var ledgerMechanism: LedgerEntry.Mechanism {
        LedgerEntry.Mechanism(
            samplingRate: samplingRate,
            noiseMultiplier: noiseMultiplier,
            clipNorm: clipNorm,
            placement: placement,
            expectedCohort: expectedCohort
        )
    }
}

/// What the auditor admits at all, whatever the budget says: the operator's limits on a round.
///
/// Why besides the budget: a budget check alone approves one very weak round (q = 1, z = 0.5)
/// while budget remains; a policy refuses parameters no honest run of this deployment proposes,
/// and bounds how far one proposal may jump ahead of the recorded round ids.
public struct AuditorPolicy: Hashable, Sendable {
    /// The largest Poisson sampling rate q.
    public var maxSamplingRate: Double
    /// The smallest noise multiplier z.
    public var minNoiseMultiplier: Double
    /// The largest clip norm C (it bounds what one poisoned update can move the model by).
    public var maxClipNorm: Double
    /// The noise placements that may run (`off` is never useful under an auditor: ε = ∞).
    public var placements: Set<NoisePlacement>
    /// The largest expected cohort m.
    public var maxExpectedCohort: Double
    /// How far past the last recorded round id a proposal may be: the coordinator skips ids (a
    /// retried draw) but never by millions, and a jump would lock its own next rounds out.
    public var maxRoundGap: Int

    /// The defaults of `fedpulse auditor`.
    public static let standard = AuditorPolicy(
        maxSamplingRate: 1,
        minNoiseMultiplier: 0.7,
        maxClipNorm: 10,
        placements: [.central, .distributed, .local],
        maxExpectedCohort: 100_000,
        maxRoundGap: 10_000
    )

    public init(
        maxSamplingRate: Double,
        minNoiseMultiplier: Double,
        maxClipNorm: Double,
        placements: Set<NoisePlacement>,
        maxExpectedCohort: Double,
        maxRoundGap: Int
    ) {
        self.maxSamplingRate = maxSamplingRate
        self.minNoiseMultiplier = minNoiseMultiplier
        self.maxClipNorm = maxClipNorm
        self.placements = placements
        self.maxExpectedCohort = maxExpectedCohort
        self.maxRoundGap = maxRoundGap
    }

    /// Why a (well-formed) proposal lies outside the policy, nil when it is inside.
    func violation(_ proposal: RoundProposal) -> String? {
        if !placements.contains(proposal.placement) {
            return "placement \(proposal.placement.rawValue) is not one of \(placements.map(\.rawValue).sorted())"
        }
        if proposal.samplingRate > maxSamplingRate { return "q = \(proposal.samplingRate) > \(maxSamplingRate)" }
        if proposal.noiseMultiplier < minNoiseMultiplier {
            return "z = \(proposal.noiseMultiplier) < \(minNoiseMultiplier)"
        }
        if proposal.clipNorm > maxClipNorm { return "C = \(proposal.clipNorm) > \(maxClipNorm)" }
        if proposal.expectedCohort > maxExpectedCohort {
            return "m = \(proposal.expectedCohort) > \(maxExpectedCohort)"
        }
        return nil
    }
}

/// The auditor's answer to a proposal.
public struct Verdict: Hashable, Sendable {
    /// Why a round was denied; the raw value is `round.verdict.reason`, the metric dimension and
    /// the log field. Only `budgetExceeded` means "no more rounds"; the others refuse one proposal.
    public enum DenyReason: String, Hashable, Sendable, CaseIterable {
        /// The round would bring ε over the budget.
        case budgetExceeded
        /// q, z, C, the placement or the cohort lies outside the configured policy.
        case outsidePolicy
        /// The round id is not above every recorded one, or jumps too far ahead of them.
        case notNextRound
        /// The round id was completed or denied already; it is never approved again.
        case replayedRound
        /// The round id is approved and pending with other parameters.
        case conflictingProposal
        /// q, z, C or the cohort is out of range.
        case invalidParameters
        /// The ledger entry could not be encoded; nothing is approved without one (fail closed).
        case ledgerFailure

        /// Whether the deny is written to the ledger (and its id never approved afterwards).
        /// Order refusals are not: they concern a proposal that cannot be admitted whatever it
        /// says, and writing a line for each would let anyone grow the ledger.
        public var isRecorded: Bool {
            switch self {
            case .budgetExceeded, .outsidePolicy, .invalidParameters: true
            case .notNextRound, .replayedRound, .conflictingProposal, .ledgerFailure: false
            }
        }
    }

    public var roundID: Int
    public var isApproved: Bool { denyReason == nil }
    /// nil when approved.
    public var denyReason: DenyReason?
    /// What exactly was refused, for people (nil when approved).
    public var detail: String?
    /// Approved: the total ε by RDP with this round (now spent). Denied: the total already spent.
    public var epsilonRDP: Double
    /// The same by PLD; nil when the PLD accountant is off.
    public var epsilonPLD: Double?
    /// The ε the budget is checked against.
    public var epsilon: Double
    public var budget: Double
    public var delta: Double
    /// True when this answers an exact repeat of a decided proposal (nothing new was spent).
    public var isRepeat: Bool
    /// The ledger line to append and fsync *before* sending the verdict; nil for a repeat or an
    /// unrecorded deny.
    public var ledgerLine: String?
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

    public init(
        roundID: Int,
        participantsByClass: [String: Int],
        rejectedByReason: [String: Int] = [:],
        modelHash: String,
        released: Bool = true,
        clippedUpdates: Int = 0,
        contributorIDs: [String]? = nil
    ) {
        self.clippedUpdates = clippedUpdates
        self.roundID = roundID
        self.participantsByClass = participantsByClass
        self.rejectedByReason = rejectedByReason
        self.modelHash = modelHash
        self.released = released
        self.contributorIDs = contributorIDs
    }

    /// The class counts' sum, saturating (forged counts near `Int.max` must not trap).
    var classTotal: Int {
        participantsByClass.values.reduce(0) { total, count in
            let (sum, overflow) = total.addingReportingOverflow(max(count, 0))
            return overflow ? .max : sum
        }
    }
}

/// What the auditor does with a completion report.
public enum CompletionAction: Hashable, Sendable {
    /// Append `ledgerLine`; the totals now reflect the noise actually present.
    case record(ledgerLine: String, effectiveNoiseMultiplier: Double, epsilonRDP: Double, epsilonPLD: Double?)
    /// The round's completion is on record already; `ledgerLine` is its `complete` line, to be
    /// published again (the coordinator re-sends until it sees it).
    case alreadyRecorded(ledgerLine: String)
    /// Ignore the report (log and count it under `reason`).
    case reject(reason: CompletionRejection, detail: String)
}

/// Why a completion report was not recorded.
public enum CompletionRejection: String, Hashable, Sendable, CaseIterable {
    /// No approval exists for the round (never proposed, or denied): it must not have run.
    case notApproved
    /// It names more contributors than the approved cohort bound.
    case tooManyContributors
    /// The ledger entry could not be encoded; nothing was recorded.
    case ledgerFailure
}
