import ArgumentParser
import Privacy
import Wire

/// The `--dp skellam` numbers: what the coordinator proposes to the auditor and announces to
/// the devices (who encode with `SkellamEncoder`).
struct SkellamOptions: ParsableArguments {
    @Option(help: "Skellam: scale γ before rounding to integers (a coordinate x becomes about γ·x).")
    var skellamScale: Double?

    @Option(
        help:
            "Skellam: variance μ each device adds per coordinate, in integer units (plan it with `fedpulse privacy skellam`)."
    )
    var skellamVariance: Double?

    @Option(help: "Skellam: bits per device value, noise included (default: the smallest that fits).")
    var skellamValueBits: Int?

    @Option(
        help: "Skellam: the fewest survivors a shard may release a sum of (≥ 2); approval is charged at this count."
    )
    var skellamMinSurvivors: Int?

    @Option(help: "Skellam: β of conditional stochastic rounding, in [0, 1).")
    var skellamBeta: Double = SkellamParameters.standardRoundingBeta

    var isGiven: Bool {
        skellamScale != nil || skellamVariance != nil || skellamValueBits != nil || skellamMinSurvivors != nil
    }

    func validate(clipNorm: Double) throws {
        guard clipNorm > 0 else { throw ValidationError("--dp skellam needs --clip C > 0") }
        guard let skellamScale, skellamScale > 0, skellamScale.isFinite else {
            throw ValidationError("--dp skellam needs --skellam-scale γ > 0")
        }
        guard let skellamVariance, skellamVariance >= 0, skellamVariance <= 0x1p41 else {
            throw ValidationError("--dp skellam needs --skellam-variance μ in [0, 2^41]")
        }
        guard let skellamMinSurvivors, skellamMinSurvivors >= 2 else {
            throw ValidationError("--dp skellam needs --skellam-min-survivors ≥ 2 (one survivor is unprotected)")
        }
        guard (0..<1).contains(skellamBeta) else { throw ValidationError("--skellam-beta must be in [0, 1)") }
        if let skellamValueBits, !(2...62).contains(skellamValueBits) {
            throw ValidationError("--skellam-value-bits must be in 2…62")
        }
    }

    /// The proposal's and the round's Skellam numbers for `dimension` encoded integers (the
    /// update's length, padded to a power of two when rotated); nil when the value bits cannot
    /// hold γ·C plus the noise tail.
    func settings(clipNorm: Double, dimension: Int) -> SkellamSettings? {
        guard let skellamScale, let skellamVariance, let skellamMinSurvivors else { return nil }
        var parameters = SkellamParameters(
            clipNorm: clipNorm,
            scale: skellamScale,
            deviceVariance: skellamVariance,
            dimension: dimension,
            valueBits: skellamValueBits ?? 62,
            roundingBeta: skellamBeta
        )
        if skellamValueBits == nil {
            guard
                let bits = SkellamPlan(parameters: parameters, samplingRate: 1, survivors: 2, rounds: 1, delta: 0.5)
                    .minimumValueBits
            else { return nil }
            parameters.valueBits = bits
        }
        guard parameters.problem == nil else { return nil }
        return SkellamSettings(
            scale: skellamScale,
            deviceVariance: skellamVariance,
            dimension: parameters.encodedDimension,
            valueBits: parameters.valueBits,
            roundingBeta: skellamBeta,
            minimumSurvivors: skellamMinSurvivors
        )
    }
}
