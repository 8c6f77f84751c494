import ArgumentParser
import Privacy

extension FedPulse.Demo {
    /// The demo's γ when `--skellam-scale` is not given: γ·C = 1024 keeps the rounding error
    /// (about √d/2 in integer units) a small fraction of the clipped norm for models of a few
    /// thousand parameters, and the sum of a shard's values well inside 62 bits.
    static let skellamScaledClip = 1024.0

    /// The demo's Skellam numbers: the operator's, else γ with
    /// γ·C = ``skellamScaledClip``, half of a class's devices as the fewest survivors a shard may
    /// release (a shard is one class), and μ calibrated so that all
    /// `--rounds`, each charged at that minimum, spend at most `--target-epsilon`.
    func skellamNumbers(dimension: Int) throws -> (scale: Double, variance: Double, survivors: Int) {
        let scale = skellam.skellamScale ?? Self.skellamScaledClip / clip
        let survivors = skellam.skellamMinSurvivors ?? max(2, devicesPerClass / 2)
        guard survivors <= devicesPerClass else {
            throw ValidationError("--skellam-min-survivors \(survivors) exceeds --devices-per-class \(devicesPerClass)")
        }
        let variance: Double
        if let given = skellam.skellamVariance {
            variance = given
        } else {
            let plan = SkellamPlan(
                parameters: SkellamParameters(
                    clipNorm: clip,
                    scale: scale,
                    deviceVariance: 0,
                    dimension: dimension,
                    valueBits: 62,
                    roundingBeta: skellam.skellamBeta
                ),
                samplingRate: samplingRate,
                survivors: survivors,
                rounds: rounds,
                delta: delta
            )
            guard let calibrated = plan.calibratedDeviceVariance(targetEpsilon: targetEpsilon) else {
                throw ValidationError("no Skellam variance reaches ε = \(targetEpsilon) over \(rounds) rounds")
            }
            variance = calibrated
        }
        return (scale, variance, survivors)
    }

    /// The coordinator's flags for ``skellamNumbers(dimension:)``.
    static func skellamArguments(
        _ numbers: (scale: Double, variance: Double, survivors: Int),
        options: SkellamOptions
    ) -> [String] {
        var arguments = [
            "--skellam-scale", "\(numbers.scale)", "--skellam-variance", "\(numbers.variance)",
            "--skellam-min-survivors", "\(numbers.survivors)", "--skellam-beta", "\(options.skellamBeta)",
        ]
        if let bits = options.skellamValueBits { arguments += ["--skellam-value-bits", "\(bits)"] }
        return arguments
    }
}
