import ArgumentParser
import Foundation
import Privacy

extension FedPulse {
    /// Offline privacy arithmetic: plan a run before starting it.
    struct PrivacyCalculator: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "privacy",
            abstract: "Compute ε for a planned run, or the noise a target ε needs.",
            subcommands: [Epsilon.self, Noise.self, Skellam.self, SecAgg.self]
        )

        struct Epsilon: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "ε(δ) of T rounds of the Poisson-subsampled Gaussian mechanism."
            )

            @Option(help: "Sampling rate q in (0, 1].")
            var samplingRate: Double
            @Option(help: "Noise multiplier z > 0.")
            var noiseMultiplier: Double
            @Option(help: "Rounds T ≥ 1.")
            var rounds: Int
            @Option(help: "δ in (0, 1).")
            var delta: Double
            @Option(help: "rdp or pld.")
            var accountant: String = "rdp"
            @Flag(help: "Print one JSON object: epsilon, delta, accountant.")
            var json = false

            func validate() throws {
                try checkPlan(samplingRate: samplingRate, rounds: rounds, delta: delta)
                guard noiseMultiplier > 0 else { throw ValidationError("--noise-multiplier must be > 0") }
                guard ["rdp", "pld"].contains(accountant) else {
                    throw ValidationError("--accountant must be rdp or pld")
                }
            }

            func run() throws {
                let mechanism = SubsampledGaussian(samplingRate: samplingRate, noiseMultiplier: noiseMultiplier)
                let estimate =
                    accountant == "pld"
                    ? PLDAccountant().composing(mechanism, count: rounds).epsilon(delta: delta)
                    : RDPAccountant().composing(mechanism, count: rounds).epsilon(delta: delta)
                if json {
                    printJSON(["epsilon": estimate.epsilon, "delta": delta, "accountant": accountant])
                } else {
                    print(
                        "ε = \(estimate.epsilon) at δ = \(delta) (\(accountant), q = \(samplingRate), z = \(noiseMultiplier), T = \(rounds))"
                    )
                }
            }
        }

        struct Noise: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "The smallest noise multiplier keeping T rounds at rate q within (ε, δ)."
            )

            @Option(help: "Target ε > 0.")
            var epsilon: Double
            @Option(help: "δ in (0, 1).")
            var delta: Double
            @Option(help: "Sampling rate q in (0, 1].")
            var samplingRate: Double
            @Option(help: "Rounds T ≥ 1.")
            var rounds: Int
            @Flag(help: "Print one JSON object: noiseMultiplier.")
            var json = false

            func validate() throws {
                try checkPlan(samplingRate: samplingRate, rounds: rounds, delta: delta)
                guard epsilon > 0 else { throw ValidationError("--epsilon must be > 0") }
            }

            func run() throws {
                guard
                    let z = NoiseCalibration.noiseMultiplier(
                        targetEpsilon: epsilon,
                        delta: delta,
                        samplingRate: samplingRate,
                        rounds: rounds
                    )
                else {
                    throw ValidationError("no noise multiplier up to 10⁴ reaches ε = \(epsilon)")
                }
                if json {
                    printJSON(["noiseMultiplier": z])
                } else {
                    print(
                        "z = \(z) keeps \(rounds) rounds at q = \(samplingRate) within ε = \(epsilon), δ = \(delta) (rdp)"
                    )
                }
            }
        }
    }
}

private func checkPlan(samplingRate: Double, rounds: Int, delta: Double) throws {
    guard samplingRate > 0, samplingRate <= 1 else { throw ValidationError("--sampling-rate must be in (0, 1]") }
    guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
}

private func printJSON(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}
