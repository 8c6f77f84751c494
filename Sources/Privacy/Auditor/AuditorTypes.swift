/// How the auditor is set up for a run; recorded in the ledger header.
public struct AuditorConfiguration: Hashable, Codable, Sendable {
    /// Which ε the budget is enforced on.
    public enum Enforcement: String, Codable, Hashable, Sendable {
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

    public init(
        roundID: Int,
        samplingRate: Double,
        noiseMultiplier: Double,
        clipNorm: Double,
        placement: NoisePlacement,
        expectedCohort: Double
    ) {
        self.roundID = roundID
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.placement = placement
        self.expectedCohort = expectedCohort
    }

    /// The mechanism the accountants compose for this proposal (no noise when placement is off).
    public var mechanism: SubsampledGaussian {
        SubsampledGaussian(samplingRate: samplingRate, noiseMultiplier: placement == .off ? 0 : noiseMultiplier)
    }

    var isWellFormed: Bool {
        mechanism.isValid && clipNorm.isFinite && clipNorm > 0 && expectedCohort.isFinite && expectedCohort > 0
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

/// The auditor's answer to a proposal.
public struct Verdict: Hashable, Sendable {
    /// Why a round was denied; the raw value is the metric dimension and log field.
    public enum DenyReason: String, Hashable, Sendable, CaseIterable {
        /// The round would bring ε over the budget.
        case budgetExceeded
        /// q, z, C or the cohort is out of range.
        case invalidParameters
        /// The round id was already approved with different parameters.
        case conflictingProposal
        /// The ledger entry could not be encoded; nothing is approved without one (fail closed).
        case ledgerFailure
    }

    public var roundID: Int
    public var isApproved: Bool { denyReason == nil }
    /// nil when approved.
    public var denyReason: DenyReason?
    /// Total ε by RDP if the round runs (approved: now spent).
    public var epsilonRDP: Double
    /// Total ε by PLD if the round runs; nil when the PLD accountant is off.
    public var epsilonPLD: Double?
    /// The ε the budget was checked against.
    public var epsilon: Double
    public var budget: Double
    public var delta: Double
    /// True when this answers a repeat of an already approved round (nothing new was spent).
    public var isRepeat: Bool
    /// The ledger line to append and fsync *before* sending the verdict; nil for a repeat.
    public var ledgerLine: String?
}

/// What the coordinator reports after a round (from the audit events of every role).
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

    public init(
        roundID: Int,
        participantsByClass: [String: Int],
        rejectedByReason: [String: Int] = [:],
        modelHash: String,
        released: Bool = true,
        clippedUpdates: Int = 0
    ) {
        self.clippedUpdates = clippedUpdates
        self.roundID = roundID
        self.participantsByClass = participantsByClass
        self.rejectedByReason = rejectedByReason
        self.modelHash = modelHash
        self.released = released
    }

    /// k, the number of updates in the released sum.
    public var reportingCount: Int { participantsByClass.values.reduce(0, +) }
}

/// What the auditor does with a completion report.
public enum CompletionAction: Hashable, Sendable {
    /// Append `ledgerLine`; the totals now reflect the noise actually present.
    case record(ledgerLine: String, effectiveNoiseMultiplier: Double, epsilonRDP: Double, epsilonPLD: Double?)
    /// Ignore the report (log and count it under `reason`).
    case reject(reason: CompletionRejection)
}

/// Why a completion report was not recorded.
public enum CompletionRejection: String, Hashable, Sendable, CaseIterable {
    /// No approval exists for the round: it must not have run (alert).
    case notApproved
    /// The round was already recorded as complete.
    case duplicate
    /// The ledger entry could not be encoded; nothing was recorded.
    case ledgerFailure
}
