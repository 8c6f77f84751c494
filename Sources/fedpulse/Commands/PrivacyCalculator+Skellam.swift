import ArgumentParser
import Foundation
import Privacy

extension FedPulse.PrivacyCalculator {
    /// The distributed Skellam mechanism under secure aggregation, planned before a run.
    struct Skellam: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ε(δ) of T rounds of the distributed Skellam mechanism, or the μ a target ε needs.",
            discussion: """
                Each device clips to C, scales by γ, rounds to integers (conditional stochastic rounding) and \
                adds Skellam noise of variance μ per coordinate; a shard sums n survivors under secure \
                aggregation. A device is protected by the other n − 1 shares: variance (n − 1)·μ. RDP by \
                Agarwal, Kairouz & Liu 2021 (Thm 3.5), Poisson subsampling by Zhu & Wang 2019. Give \
                --device-variance for ε, or --target-epsilon for the smallest μ.
                """
        )

        @Option(help: "L2 clip norm C > 0.")
        var clip: Double
        @Option(help: "Scale γ > 0 (a coordinate x becomes about γ·x).")
        var scale: Double
        @Option(help: "Update length d ≥ 1.")
        var dimension: Int
        @Option(help: "Survivors n ≥ 2 of the weakest shard (the round's minimum).")
        var survivors: Int
        @Option(help: "Rounds T ≥ 1.")
        var rounds: Int
        @Option(help: "δ in (0, 1).")
        var delta: Double
        @Option(help: "Sampling rate q in (0, 1].")
        var samplingRate: Double = 1
        @Option(help: "Skellam variance μ each device adds per coordinate (integer units).")
        var deviceVariance: Double?
        @Option(help: "Find the smallest μ for this ε instead.")
        var targetEpsilon: Double?
        @Option(help: "β of conditional rounding in [0, 1).")
        var beta: Double = SkellamParameters.standardRoundingBeta
        @Flag(help: "Rotate (randomized Hadamard): d is padded to a power of two.")
        var rotate = false
        @Flag(
            help:
                "Print one JSON object: epsilon, delta, deviceVariance, l2Sensitivity, l1Sensitivity, equivalentNoiseMultiplier, encodedDimension, valueBits, modulusBits."
        )
        var json = false

        func validate() throws {
            guard samplingRate > 0, samplingRate <= 1 else {
                throw ValidationError("--sampling-rate must be in (0, 1]")
            }
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
            guard survivors >= 2 else {
                throw ValidationError("--survivors must be at least 2: a lone survivor's update is unprotected")
            }
            guard (deviceVariance != nil) != (targetEpsilon != nil) else {
                throw ValidationError("give exactly one of --device-variance and --target-epsilon")
            }
            if let targetEpsilon, !(targetEpsilon > 0) { throw ValidationError("--target-epsilon must be > 0") }
            if let problem = parameters(deviceVariance: deviceVariance ?? 0).problem, !problem.contains("valueBits") {
                throw ValidationError(problem)
            }
        }

        /// Value bits are an output here (the smallest that fit), so 62 while validating.
        func parameters(deviceVariance: Double) -> SkellamParameters {
            SkellamParameters(
                clipNorm: clip,
                scale: scale,
                deviceVariance: deviceVariance,
                dimension: dimension,
                valueBits: 62,
                roundingBeta: beta,
                rotationSeed: rotate ? 0 : nil
            )
        }

        func run() throws {
            var plan = SkellamPlan(
                parameters: parameters(deviceVariance: deviceVariance ?? 0),
                samplingRate: samplingRate,
                survivors: survivors,
                rounds: rounds,
                delta: delta
            )
            if let targetEpsilon {
                guard let mu = plan.calibratedDeviceVariance(targetEpsilon: targetEpsilon) else {
                    throw ValidationError("no μ up to 2^41 reaches ε = \(targetEpsilon)")
                }
                plan.parameters.deviceVariance = mu
            }
            let estimate = plan.epsilon
            let bits = plan.minimumValueBits
            let p = plan.parameters
            let modulus = bits.map { p.requiredModulusBits(cohort: survivors) - p.valueBits + $0 }
            if json {
                var object: [String: Any] = [
                    "epsilon": estimate.epsilon, "delta": delta, "deviceVariance": p.deviceVariance,
                    "l2Sensitivity": p.l2Sensitivity, "l1Sensitivity": p.l1Sensitivity,
                    "equivalentNoiseMultiplier": plan.release.equivalentNoiseMultiplier,
                    "encodedDimension": p.encodedDimension,
                ]
                if let bits { object["valueBits"] = bits }
                if let modulus { object["modulusBits"] = modulus }
                if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                    print(String(decoding: data, as: UTF8.self))
                }
                return
            }
            print(
                "ε = \(estimate.epsilon) at δ = \(delta) (rdp, Skellam μ = \(p.deviceVariance) per device, n = \(survivors), q = \(samplingRate), T = \(rounds))"
            )
            print(
                "Δ2 = \(p.l2Sensitivity), Δ1 = \(p.l1Sensitivity) over d = \(p.encodedDimension); equivalent Gaussian z = \(plan.release.equivalentNoiseMultiplier)"
            )
            if let bits, let modulus {
                print(
                    "values fit \(bits) bits with the noise tail at 2^-40; a shard of \(survivors) needs \(modulus) modulus bits"
                )
            } else {
                print("no value width up to 62 bits holds γ·C plus the noise: lower --scale or μ")
            }
        }
    }
}
