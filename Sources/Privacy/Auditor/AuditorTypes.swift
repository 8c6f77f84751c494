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
    /// The smallest `minimumSurvivors` a `skellam` round may name: the operator's margin against
    /// devices colluding with the shard (c colluders leave (n − 1 − c)·μ protecting a device).
    public var minSurvivors: Int

    /// The defaults of `fedpulse auditor`.
    public static let standard = AuditorPolicy(
        maxSamplingRate: 1,
        minNoiseMultiplier: 0.7,
        maxClipNorm: 10,
        placements: [.central, .distributed, .local, .skellam],
        maxExpectedCohort: 100_000,
        maxRoundGap: 10_000,
        minSurvivors: 2
    )

    public init(
        maxSamplingRate: Double,
        minNoiseMultiplier: Double,
        maxClipNorm: Double,
        placements: Set<NoisePlacement>,
        maxExpectedCohort: Double,
        maxRoundGap: Int,
        minSurvivors: Int = 2
    ) {
        self.maxSamplingRate = maxSamplingRate
        self.minNoiseMultiplier = minNoiseMultiplier
        self.maxClipNorm = maxClipNorm
        self.placements = placements
        self.maxExpectedCohort = maxExpectedCohort
        self.maxRoundGap = maxRoundGap
        self.minSurvivors = minSurvivors
    }

    /// Why a (well-formed) proposal lies outside the policy, nil when it is inside.
    func violation(_ proposal: RoundProposal) -> String? {
        if !placements.contains(proposal.placement) {
            return "placement \(proposal.placement.rawValue) is not one of \(placements.map(\.rawValue).sorted())"
        }
        if proposal.samplingRate > maxSamplingRate { return "q = \(proposal.samplingRate) > \(maxSamplingRate)" }
        // Skellam: the z of the planned release (√((n_min − 1)μ)/Δ2), not the informative field.
        let z =
            proposal.placement == .skellam
            ? proposal.plannedRelease.effectiveNoiseMultiplier : proposal.noiseMultiplier
        if z < minNoiseMultiplier {
            return proposal.placement == .skellam
                ? "the Skellam round's equivalent z = \(z) < \(minNoiseMultiplier)"
                : "z = \(proposal.noiseMultiplier) < \(minNoiseMultiplier)"
        }
        if proposal.clipNorm > maxClipNorm { return "C = \(proposal.clipNorm) > \(maxClipNorm)" }
        if let skellam = proposal.skellam, skellam.minimumSurvivors < minSurvivors {
            return "minimumSurvivors = \(skellam.minimumSurvivors) < \(minSurvivors)"
        }
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

/// What the auditor does with a completion report.
public enum CompletionAction: Hashable, Sendable {
    /// Append `ledgerLine`; the totals now reflect the noise actually present. `flag` says what
    /// the auditor found wrong but recorded anyway at its real cost (a `skellam` shard below
    /// the minimum survivors); the shell logs it as a warning.
    case record(
        ledgerLine: String,
        effectiveNoiseMultiplier: Double,
        epsilonRDP: Double,
        epsilonPLD: Double?,
        flag: String? = nil
    )
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
    /// A `skellam` round's completion carries no secure-aggregation records: what was released,
    /// and with how much noise, is unknown. The round stays charged at its approval's cost.
    case missingSecureAggregation
    /// The records contradict the report or themselves: more survivors than advertised, a shard
    /// named twice, or survivors per class that do not add up to the class's contributors (a
    /// record for a shard that had none, or a shard missing).
    case inconsistentSecureAggregation
    /// The ledger entry could not be encoded; nothing was recorded.
    case ledgerFailure
}
