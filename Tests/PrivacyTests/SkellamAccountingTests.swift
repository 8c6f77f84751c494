import Foundation
import Testing

@testable import Privacy

/// The Skellam RDP bound, its subsampled form, and composition with the Gaussian rounds.
struct SkellamAccountingTests {
    /// Reference ε from an independent Python evaluation (SciPy `gammaln`/`logsumexp`) of the
    /// same formulas: Agarwal et al. 2021 Thm 3.5 in variance form, Zhu & Wang 2019's general
    /// subsampling bound, the Kairouz et al. rounding bound, and the accountant's conversion
    /// over `RDPAccountant.defaultOrders` with fractional orders charged at ⌈α⌉.
    struct Reference: Sendable, CustomTestStringConvertible {
        var clipNorm: Double
        var scale: Double
        var dimension: Int
        var beta: Double
        var deviceVariance: Double
        var survivors: Int
        var samplingRate: Double
        var rounds: Int
        var delta: Double
        var l2: Double
        var l1: Double
        var epsilon: Double
        var testDescription: String { "γ=\(scale) d=\(dimension) μ=\(deviceVariance) n=\(survivors) q=\(samplingRate)" }
    }

    static let references: [Reference] = [
        Reference(
            clipNorm: 1,
            scale: 64,
            dimension: 1_024,
            beta: exp(-0.5),
            deviceVariance: 400,
            survivors: 100,
            samplingRate: 1,
            rounds: 10,
            delta: 1e-5,
            l2: 66.57326790837296,
            l1: 2130.3445730679346,
            epsilon: 5.050792102742047
        ),
        Reference(
            clipNorm: 1,
            scale: 64,
            dimension: 1_024,
            beta: exp(-0.5),
            deviceVariance: 400,
            survivors: 100,
            samplingRate: 0.01,
            rounds: 1_000,
            delta: 1e-5,
            l2: 66.57326790837296,
            l1: 2130.3445730679346,
            epsilon: 0.6669622046368443
        ),
        Reference(
            clipNorm: 0.5,
            scale: 10,
            dimension: 65_536,
            beta: exp(-0.5),
            deviceVariance: 2,
            survivors: 1_000,
            samplingRate: 0.05,
            rounds: 200,
            delta: 1e-6,
            l2: 128.6157066613561,
            l1: 16542.000000000004,
            epsilon: 490.9724949490516
        ),
        Reference(
            clipNorm: 1,
            scale: 2,
            dimension: 16,
            beta: 0,
            deviceVariance: 1,
            survivors: 10,
            samplingRate: 1,
            rounds: 1,
            delta: 1e-5,
            l2: 6,
            l1: 24,
            epsilon: 11.801691480042894
        ),
    ]

    @Test(arguments: references)
    func epsilonMatchesTheIndependentReference(_ reference: Reference) {
        let parameters = SkellamParameters(
            clipNorm: reference.clipNorm,
            scale: reference.scale,
            deviceVariance: reference.deviceVariance,
            dimension: reference.dimension,
            valueBits: 40,
            roundingBeta: reference.beta
        )
        #expect(relativelyClose(parameters.l2Sensitivity, reference.l2, tolerance: 1e-12))
        #expect(relativelyClose(parameters.l1Sensitivity, reference.l1, tolerance: 1e-12))
        let release = SkellamRelease(parameters, samplingRate: reference.samplingRate, survivors: reference.survivors)
        let epsilon = RDPAccountant().composing(release, count: reference.rounds).epsilon(delta: reference.delta)
            .epsilon
        #expect(relativelyClose(epsilon, reference.epsilon, tolerance: 1e-9), "got \(epsilon)")
    }

    /// With Δ2 fixed and μ = z²Δ2² growing, the discreteness term vanishes and the Skellam RDP
    /// is the Gaussian one with σ² = μ/Δ2² (noise multiplier z): within 10⁻³ relative at
    /// Δ2 = 1000 on every integer order, 10⁻² at Δ2 = 100.
    @Test(arguments: [(100.0, 1e-2), (1_000.0, 1e-3)])
    func largeVarianceApproachesTheGaussian(_ l2: Double, _ tolerance: Double) {
        let orders = (2...64).map(Double.init)
        for z in [0.7, 1.0, 3.0] {
            let release = SkellamRelease(
                samplingRate: 1,
                l2Sensitivity: l2,
                l1Sensitivity: min(100 * l2, l2 * l2),
                protectingVariance: z * z * l2 * l2
            )
            let skellam = SkellamRDP.rdp(release, orders: orders)
            let gaussian = RDPAccountant.subsampledGaussianRDP(
                SubsampledGaussian(samplingRate: 1, noiseMultiplier: z),
                orders: orders
            )
            for (s, g) in zip(skellam, gaussian) {
                #expect(s >= g, "Skellam's bound is never below the Gaussian's")
                #expect(relativelyClose(s, g, tolerance: tolerance), "z = \(z), Δ2 = \(l2): \(s) vs \(g)")
            }
            let integerSkellam = RDPAccountant(orders: orders).composing(release, count: 100)
            let integerGaussian = RDPAccountant(orders: orders).composing(
                SubsampledGaussian(samplingRate: 1, noiseMultiplier: z),
                count: 100
            )
            #expect(
                relativelyClose(
                    integerSkellam.epsilon(delta: 1e-5).epsilon,
                    integerGaussian.epsilon(delta: 1e-5).epsilon,
                    tolerance: tolerance
                )
            )
        }
    }

    /// The general subsampling bound is looser than the exact subsampled Gaussian, but it does
    /// amplify: at q = 0.01 it is far below the unsampled cost and within 35 % of the Gaussian's.
    @Test func subsamplingAmplifiesAndStaysNearTheGaussian() {
        let release = SkellamRelease(
            samplingRate: 0.01,
            l2Sensitivity: 1_000,
            l1Sensitivity: 100_000,
            protectingVariance: 1e6
        )
        let skellam = RDPAccountant().composing(release, count: 100).epsilon(delta: 1e-5).epsilon
        var unsampled = release
        unsampled.samplingRate = 1
        let plain = RDPAccountant().composing(unsampled, count: 100).epsilon(delta: 1e-5).epsilon
        let gaussian = RDPAccountant()
            .composing(SubsampledGaussian(samplingRate: 0.01, noiseMultiplier: 1), count: 100)
            .epsilon(delta: 1e-5).epsilon
        #expect(skellam < plain / 20)
        #expect(skellam >= gaussian)
        #expect(skellam <= 1.35 * gaussian, "Skellam \(skellam), Gaussian \(gaussian)")
    }

    @Test func oneSurvivorIsUnprotectedAndMoreSurvivorsCostLess() {
        let parameters = SkellamParameters(clipNorm: 1, scale: 64, deviceVariance: 400, dimension: 1_024, valueBits: 20)
        func epsilon(_ survivors: Int) -> Double {
            RDPAccountant().composing(SkellamRelease(parameters, samplingRate: 0.1, survivors: survivors))
                .epsilon(delta: 1e-5).epsilon
        }
        #expect(epsilon(1) == .infinity)
        #expect(epsilon(2).isFinite)
        #expect(epsilon(10) > epsilon(50))
        #expect(epsilon(50) > epsilon(500))
    }

    @Test func skellamAndGaussianRoundsComposeInOneAccount() {
        let release = SkellamRelease(
            samplingRate: 0.02,
            l2Sensitivity: 70,
            l1Sensitivity: 2_000,
            protectingVariance: 40_000
        )
        let gaussian = SubsampledGaussian(samplingRate: 0.02, noiseMultiplier: 1.1)
        let mixed = RDPAccountant().composing(release, count: 50).composing(gaussian, count: 50)
        let skellamOnly = RDPAccountant().composing(release, count: 50)
        let gaussianOnly = RDPAccountant().composing(gaussian, count: 50)
        for index in mixed.rdp.indices {
            #expect(abs(mixed.rdp[index] - skellamOnly.rdp[index] - gaussianOnly.rdp[index]) < 1e-9)
        }
        #expect(mixed.epsilon(delta: 1e-5).epsilon > skellamOnly.epsilon(delta: 1e-5).epsilon)
    }
}
