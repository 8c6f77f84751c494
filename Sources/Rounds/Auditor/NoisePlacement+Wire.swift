public import Privacy
public import Wire

// One vocabulary for noise placement. `Privacy` cannot import `Wire` (the pure modules do not
// depend on each other), so each keeps its enum and this is the only bridge: exhaustive switches
// in both directions, with no default, so a case added to either enum fails to compile here
// instead of falling back silently (the old `?? .off`).

extension Privacy.NoisePlacement {
    /// The placement a Wire header names.
    public init(_ placement: Wire.NoisePlacement) {
        switch placement {
        case .off: self = .off
        case .central: self = .central
        case .distributed: self = .distributed
        case .local: self = .local
        case .skellam: self = .skellam
        }
    }
}

extension Wire.NoisePlacement {
    /// The placement as a Wire header names it.
    public init(_ placement: Privacy.NoisePlacement) {
        switch placement {
        case .off: self = .off
        case .central: self = .central
        case .distributed: self = .distributed
        case .local: self = .local
        case .skellam: self = .skellam
        }
    }
}

extension Privacy.SkellamProposal {
    /// The auditor's copy of a proposal's Skellam numbers.
    public init(_ settings: SkellamSettings) {
        self.init(
            scale: settings.scale,
            deviceVariance: settings.deviceVariance,
            dimension: settings.dimension,
            valueBits: settings.valueBits,
            roundingBeta: settings.roundingBeta,
            minimumSurvivors: settings.minimumSurvivors
        )
    }
}

extension Privacy.SecAggShardRecord {
    /// The auditor's copy of a shard's secure-aggregation record.
    public init(_ record: SecureAggregationRecord) {
        self.init(
            deviceClass: record.deviceClass,
            shard: record.shard,
            survivors: record.survivors,
            advertised: record.advertised,
            degree: record.degree,
            threshold: record.threshold,
            modulusBits: record.modulusBits,
            valueBits: record.valueBits
        )
    }
}

extension RoundVerdict.DenyReason {
    /// The wire name of the auditor's deny reason (the same closed set, case for case).
    public init(_ reason: Verdict.DenyReason) {
        switch reason {
        case .budgetExceeded: self = .budgetExceeded
        case .outsidePolicy: self = .outsidePolicy
        case .notNextRound: self = .notNextRound
        case .replayedRound: self = .replayedRound
        case .conflictingProposal: self = .conflictingProposal
        case .invalidParameters: self = .invalidParameters
        case .ledgerFailure: self = .ledgerFailure
        }
    }
}

extension Privacy.SkellamParameters {
    /// The encoder's and decoder's parameters for a round's Skellam numbers: what a device and
    /// its shard build from the round they were told about. `dimension` is the update's length
    /// (the settings' `dimension` is the encoded one, padded when `rotationSeed` is given); nil
    /// when they disagree or the numbers cannot run.
    public init?(_ settings: SkellamSettings, clipNorm: Double, dimension: Int, rotationSeed: UInt64?) {
        self.init(
            clipNorm: clipNorm,
            scale: settings.scale,
            deviceVariance: settings.deviceVariance,
            dimension: dimension,
            valueBits: settings.valueBits,
            roundingBeta: settings.roundingBeta,
            rotationSeed: rotationSeed
        )
        guard encodedDimension == settings.dimension, problem == nil else { return nil }
    }
}
