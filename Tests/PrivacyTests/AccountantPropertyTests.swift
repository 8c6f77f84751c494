import Foundation
import Testing

@testable import Privacy

struct AccountantPropertyTests {
    /// Exact (ε, δ) of T compositions of the Gaussian mechanism (Balle & Wang 2018):
    /// δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2), μ = √T/z, inverted by bisection.
    static func analyticGaussianEpsilon(z: Double, rounds: Int, delta: Double) -> Double {
        let mu = Double(rounds).squareRoot() / z
        func deltaFor(_ epsilon: Double) -> Double {
            SpecialFunctions.normalCDF(-epsilon / mu + mu / 2)
                - exp(epsilon) * SpecialFunctions.normalCDF(-epsilon / mu - mu / 2)
        }
        var low = 0.0
        var high = 1.0
        while deltaFor(high) > delta { high *= 2 }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if deltaFor(middle) > delta { low = middle } else { high = middle }
        }
        return high
    }

    struct GaussianCase: Sendable, CustomStringConvertible {
        var z: Double
        var rounds: Int
        var delta: Double
        var description: String { "z=\(z) T=\(rounds) δ=\(delta)" }
    }

    static let gaussianCases = [
        GaussianCase(z: 1.1, rounds: 1, delta: 1e-5), GaussianCase(z: 2, rounds: 10, delta: 1e-5),
        GaussianCase(z: 5, rounds: 100, delta: 1e-6),
    ]

    @Test(arguments: gaussianCases)
    func fullParticipationMatchesTheExactGaussianMechanism(_ c: GaussianCase) {
        let exact = Self.analyticGaussianEpsilon(z: c.z, rounds: c.rounds, delta: c.delta)
        let mechanism = SubsampledGaussian(samplingRate: 1, noiseMultiplier: c.z)
        let pld = PLDAccountant().composing(mechanism, count: c.rounds).epsilon(delta: c.delta).epsilon
        let rdp = RDPAccountant().composing(mechanism, count: c.rounds).epsilon(delta: c.delta).epsilon
        #expect(relativelyClose(pld, exact, tolerance: 1e-3), "PLD \(pld) vs exact \(exact)")
        #expect(pld >= exact * (1 - 1e-9), "PLD must not undercut the exact ε")
        #expect(rdp >= exact, "RDP \(rdp) is an upper bound of exact \(exact)")
        #expect(rdp <= exact * 1.5, "RDP \(rdp) should stay near exact \(exact)")
    }

    @Test func epsilonGrowsWithRoundsAndSamplingRateAndShrinksWithNoise() {
        func rdp(_ q: Double, _ z: Double, _ t: Int) -> Double {
            RDPAccountant().composing(SubsampledGaussian(samplingRate: q, noiseMultiplier: z), count: t)
                .epsilon(delta: 1e-5).epsilon
        }
        let rounds = [1, 10, 100, 1000].map { rdp(0.01, 1.1, $0) }
        #expect(zip(rounds, rounds.dropFirst()).allSatisfy { $0 < $1 }, "\(rounds)")
        let rates = [0.001, 0.01, 0.1, 0.5, 1].map { rdp($0, 1.1, 100) }
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 < $1 }, "\(rates)")
        let noises = [0.8, 1.1, 2, 5].map { rdp(0.1, $0, 100) }
        #expect(zip(noises, noises.dropFirst()).allSatisfy { $0 > $1 }, "\(noises)")
    }

    @Test func pldEpsilonIsMonotoneAndBelowRDP() {
        func both(_ q: Double, _ z: Double, _ t: Int) -> (Double, Double) {
            let m = SubsampledGaussian(samplingRate: q, noiseMultiplier: z)
            return (
                PLDAccountant().composing(m, count: t).epsilon(delta: 1e-5).epsilon,
                RDPAccountant().composing(m, count: t).epsilon(delta: 1e-5).epsilon
            )
        }
        let series = [(0.05, 2.0, 10), (0.05, 2.0, 50), (0.1, 2.0, 50), (0.1, 3.0, 50)].map { both($0.0, $0.1, $0.2) }
        #expect(series[0].0 < series[1].0)
        #expect(series[1].0 < series[2].0)
        #expect(series[2].0 > series[3].0)
        for (pld, rdp) in series { #expect(pld < rdp, "PLD \(pld) should be tighter than RDP \(rdp)") }
    }

    @Test func calibratedNoiseMeetsTheTargetAndIsTheSmallest() throws {
        let target = 2.0
        let tolerance = 1e-4
        let z = try #require(
            NoiseCalibration.noiseMultiplier(
                targetEpsilon: target,
                delta: 1e-5,
                samplingRate: 0.01,
                rounds: 1000,
                tolerance: tolerance
            )
        )
        func epsilon(_ z: Double) -> Double {
            RDPAccountant().composing(SubsampledGaussian(samplingRate: 0.01, noiseMultiplier: z), count: 1000)
                .epsilon(delta: 1e-5).epsilon
        }
        #expect(epsilon(z) <= target)
        #expect(epsilon(z * (1 - 2 * tolerance)) > target)
    }

    @Test func calibrationWithPLDAsksForLessNoiseThanRDP() throws {
        let rdp = try #require(
            NoiseCalibration.noiseMultiplier(
                targetEpsilon: 1,
                delta: 1e-5,
                samplingRate: 0.1,
                rounds: 10,
                tolerance: 1e-3
            )
        )
        let pld = try #require(
            NoiseCalibration.noiseMultiplier(
                targetEpsilon: 1,
                delta: 1e-5,
                samplingRate: 0.1,
                rounds: 10,
                method: .pld,
                tolerance: 1e-3
            )
        )
        let forward = PLDAccountant().composing(SubsampledGaussian(samplingRate: 0.1, noiseMultiplier: pld), count: 10)
        #expect(forward.epsilon(delta: 1e-5).epsilon <= 1)
        #expect(pld < rdp)
    }

    @Test func noNoiseMeansNoFiniteEpsilon() {
        let m = SubsampledGaussian(samplingRate: 0.1, noiseMultiplier: 0)
        #expect(RDPAccountant().composing(m).epsilon(delta: 1e-5).epsilon == .infinity)
        #expect(PLDAccountant().composing(m).epsilon(delta: 1e-5).epsilon == .infinity)
    }
}
