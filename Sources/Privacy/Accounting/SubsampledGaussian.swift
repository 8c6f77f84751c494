/// One release of the Poisson-subsampled Gaussian mechanism: what every accountant composes.
///
/// Why a value of its own: the auditor composes round by round and each round may carry its own
/// sampling rate and noise multiplier, so the pair travels together (and is the key under which
/// identical rounds are grouped). Sensitivity is 1 after clipping: z is the ratio of the noise
/// standard deviation to the clip norm C.
public struct SubsampledGaussian: Hashable, Codable, Sendable {
    /// Probability q with which each client is included in the round (1 = everyone).
    public var samplingRate: Double
    /// Noise standard deviation divided by the L2 sensitivity (the clip norm).
    public var noiseMultiplier: Double

    /// Creates the mechanism; `isValid` says whether an accountant can compose it.
    public init(samplingRate: Double, noiseMultiplier: Double) {
        self.samplingRate = samplingRate
        self.noiseMultiplier = noiseMultiplier
    }

    /// Whether q ∈ [0, 1] and z ≥ 0 are finite; accountants require it (check input from the wire first).
    public var isValid: Bool {
        samplingRate.isFinite && noiseMultiplier.isFinite && (0...1).contains(samplingRate)
            && noiseMultiplier >= 0
    }
}

/// An (ε, δ) guarantee with the detail that explains it.
///
/// Why: the ledger records not just ε but how it was obtained (the optimal RDP order), so an
/// auditor can re-derive it.
public struct PrivacyEstimate: Hashable, Sendable {
    /// The ε for the given δ; `.infinity` when no finite ε exists (for example z = 0).
    public var epsilon: Double
    /// The δ the estimate is for.
    public var delta: Double
    /// The Rényi order at which the RDP bound was tightest; nil for PLD.
    public var optimalOrder: Double?
}
