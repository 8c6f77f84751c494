import Foundation
import Testing

@testable import Privacy

/// The device encoder and its samplers: statistical checks use a fixed seeded generator and
/// bounds several standard errors wide, so they pass deterministically yet would catch a
/// sampler off by a few percent.
struct SkellamEncoderTests {
    static func moments(_ draws: [Int64]) -> (mean: Double, variance: Double) {
        let n = Double(draws.count)
        let mean = draws.reduce(0.0) { $0 + Double($1) } / n
        let variance = draws.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / (n - 1)
        return (mean, variance)
    }

    @Test(arguments: [0.3, 4, 9.99, 10, 37.5, 1_000, 1e6, 3e9])
    func poissonMeanAndVarianceMatchTheRate(_ lambda: Double) throws {
        var rng = SplitMix64(seed: 11)
        let count = 20_000
        let draws = try (0..<count).map { _ in try #require(PoissonSampler.poisson(rate: lambda, using: &rng)) }
        let (mean, variance) = Self.moments(draws)
        // Standard error of the mean √(λ/n); of the variance ≈ λ√(2/n) (+λ/n).
        #expect(abs(mean - lambda) <= 5 * (lambda / Double(count)).squareRoot(), "λ = \(lambda): mean \(mean)")
        #expect(abs(variance - lambda) <= 0.06 * lambda + 0.05, "λ = \(lambda): variance \(variance)")
    }

    @Test(arguments: [12.0, 80])
    func transformedRejectionMatchesThePMFNearTheMode(_ lambda: Double) throws {
        var rng = SplitMix64(seed: 5)
        let count = 200_000
        var histogram: [Int64: Int] = [:]
        for _ in 0..<count {
            histogram[try #require(PoissonSampler.poisson(rate: lambda, using: &rng)), default: 0] += 1
        }
        let mode = Int64(lambda)
        for k in (mode - 3)...(mode + 3) {
            let pmf = exp(-lambda + Double(k) * log(lambda) - lgammaValue(Double(k) + 1))
            let observed = Double(histogram[k, default: 0]) / Double(count)
            let standardError = (pmf * (1 - pmf) / Double(count)).squareRoot()
            #expect(abs(observed - pmf) <= 5 * standardError, "λ = \(lambda), k = \(k): \(observed) vs \(pmf)")
        }
    }

    @Test func poissonRefusesRatesItCannotDrawExactly() {
        var rng = SplitMix64(seed: 1)
        #expect(PoissonSampler.poisson(rate: -1, using: &rng) == nil)
        #expect(PoissonSampler.poisson(rate: .nan, using: &rng) == nil)
        #expect(PoissonSampler.poisson(rate: 0x1p41, using: &rng) == nil)
        #expect(PoissonSampler.poisson(rate: 0, using: &rng) == 0)
    }

    @Test(arguments: [0.5, 7, 64, 5_000])
    func skellamVarianceMatchesMu(_ mu: Double) throws {
        var rng = SplitMix64(seed: 23)
        let count = 20_000
        let draws = try (0..<count).map { _ in try #require(PoissonSampler.skellam(variance: mu, using: &rng)) }
        let (mean, variance) = Self.moments(draws)
        #expect(abs(mean) <= 5 * (mu / Double(count)).squareRoot(), "μ = \(mu): mean \(mean)")
        #expect(abs(variance - mu) <= 0.06 * mu, "μ = \(mu): variance \(variance)")
    }

    @Test func skellamTailBoundCoversTheDrawsAndIsNotVacuous() {
        let mu = 400.0
        let bound = SkellamTail.bound(variance: mu, probability: 1e-6)
        // A Gaussian tail at 1e-6 two-sided is 4.9σ = 98; the Chernoff bound is a little wider.
        #expect(bound >= 98 && bound <= 110, "bound \(bound)")
        var rng = SplitMix64(seed: 3)
        let largest = (0..<50_000).map { _ in abs(PoissonSampler.skellam(variance: mu, using: &rng) ?? .max) }.max()
        #expect(Double(largest ?? .max) < bound)
    }

    // MARK: - Parameters

    static let parameters = SkellamParameters(
        clipNorm: 1,
        scale: 64,
        deviceVariance: 25,
        dimension: 50,
        valueBits: 12,
        rotationSeed: 99
    )

    @Test func parametersDeriveTheDocumentedBounds() {
        let p = Self.parameters
        #expect(p.encodedDimension == 64)
        let c = 64.0
        let d = 64.0
        let conditional = (c * c + d / 4 + (2 * 0.5).squareRoot() * (c + d.squareRoot() / 2)).squareRoot()
        #expect(abs(p.l2Sensitivity - min(c + 8, conditional)) < 1e-12)
        #expect(p.l2Sensitivity < c + 8)
        #expect(abs(p.l1Sensitivity - 8 * p.l2Sensitivity) < 1e-9)
        #expect(p.problem == nil)
        #expect(p.requiredModulusBits(cohort: 100) == 19)
        #expect(p.problem(cohort: 100, modulusBits: 18) != nil)
        #expect(p.problem(cohort: 100, modulusBits: 19) == nil)
    }

    @Test func parametersRefuseANoiseTailOutsideTheValueBits() {
        var p = Self.parameters
        // Δ2 ≈ 64.7 fits 8 bits (±127) without noise; μ = 100 adds a tail of ≈ 85 at 2⁻⁴⁰/64.
        p.valueBits = 8
        p.deviceVariance = 0
        #expect(p.problem == nil)
        p.deviceVariance = 100
        #expect(p.problem?.contains("noise") == true)
        #expect(SkellamEncoder(p) == nil)
        p.valueBits = 9
        #expect(p.problem == nil)
    }

    @Test func parametersRefuseOutOfRangeValues() {
        for broken in [
            { (p: inout SkellamParameters) in p.scale = 0 },
            { p in p.clipNorm = .infinity },
            { p in p.deviceVariance = -1 },
            { p in p.dimension = 0 },
            { p in p.valueBits = 63 },
            { p in p.roundingBeta = 1 },
        ] {
            var p = Self.parameters
            broken(&p)
            #expect(p.problem != nil)
        }
    }

    // MARK: - Encoder

    @Test func roundingNeverExceedsTheNormBound() throws {
        var p = Self.parameters
        p.deviceVariance = 0
        let encoder = try #require(SkellamEncoder(p))
        var rng = SplitMix64(seed: 7)
        let bound = p.l2Sensitivity * p.l2Sensitivity
        for trial in 0..<300 {
            // Norm 5·C, so clipping matters; skewed, so rotation matters.
            var update = (0..<p.dimension).map { _ in Float.random(in: -1...1, using: &rng) }
            update[trial % p.dimension] = 30
            let rounded = try encoder.round(update, using: &rng)
            let squared = rounded.reduce(0) { $0 + Double($1 * $1) }
            #expect(squared <= bound, "trial \(trial): \(squared) > \(bound)")
        }
    }

    @Test func encodingIsUnbiasedOnAverage() throws {
        var p = Self.parameters
        p.rotationSeed = nil
        p.dimension = 8
        p.scale = 4
        p.roundingBeta = 0
        let encoder = try #require(SkellamEncoder(p))
        let decoder = try #require(SkellamDecoder(p))
        let update: [Float] = [0.3, -0.2, 0.1, 0.05, -0.4, 0.33, 0.0, -0.1]
        var rng = SplitMix64(seed: 17)
        let trials = 4_000
        var total = [Double](repeating: 0, count: p.dimension)
        for _ in 0..<trials {
            let decoded = try #require(decoder.decode(sum: try encoder.encode(update: update, rng: &rng), survivors: 1))
            for index in total.indices { total[index] += Double(decoded[index]) }
        }
        // Per coordinate: noise σ = 5/γ = 1.25 plus rounding ≤ 0.5/γ; standard error ≈ 0.02.
        for index in total.indices {
            let mean = total[index] / Double(trials)
            #expect(abs(mean - Double(update[index])) < 0.1, "coordinate \(index): \(mean) vs \(update[index])")
        }
    }

    @Test func decodingUndoesRotationAndScale() throws {
        var p = Self.parameters
        p.deviceVariance = 0
        p.scale = 1_000
        p.valueBits = 20
        let encoder = try #require(SkellamEncoder(p))
        let decoder = try #require(SkellamDecoder(p))
        var rng = SplitMix64(seed: 2)
        let update = (0..<p.dimension).map { Float($0 % 7) / 100 - 0.03 }
        let norm = update.reduce(0) { $0 + Double($1 * $1) }.squareRoot()
        #expect(norm < p.clipNorm)
        let decoded = try #require(decoder.decode(sum: try encoder.encode(update: update, rng: &rng), survivors: 1))
        #expect(decoded.count == p.dimension)
        // Rounding error per coordinate ≤ 1/γ before the rotation; after it, the L2 error ≤ √d/γ.
        let error = zip(decoded, update).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
        #expect(error <= 8 / 1_000)
    }

    @Test func theSumOfEncodedZeroVectorsHasVarianceNMu() throws {
        let p = Self.parameters
        let encoder = try #require(SkellamEncoder(p))
        var rng = SplitMix64(seed: 41)
        let devices = 20
        var sum = [Int64](repeating: 0, count: p.encodedDimension)
        var sums: [Int64] = []
        for _ in 0..<150 {
            for index in sum.indices { sum[index] = 0 }
            for _ in 0..<devices {
                let encoded = try encoder.encode(update: [Float](repeating: 0, count: p.dimension), rng: &rng)
                for index in sum.indices { sum[index] += encoded[index] }
            }
            sums += sum
        }
        let (mean, variance) = Self.moments(sums)
        let expected = Double(devices) * p.deviceVariance
        // 9,600 coordinates: standard error of the variance ≈ 1.5 %.
        #expect(abs(mean) < 0.5)
        #expect(abs(variance - expected) <= 0.08 * expected, "variance \(variance), expected \(expected)")
    }

    @Test func encoderRefusesMalformedUpdates() throws {
        let encoder = try #require(SkellamEncoder(Self.parameters))
        var rng = SplitMix64(seed: 1)
        #expect(throws: SkellamEncodingError.wrongLength(expected: 50, got: 3)) {
            try encoder.encode(update: [1, 2, 3], rng: &rng)
        }
        var update = [Float](repeating: 0, count: 50)
        update[4] = .nan
        #expect(throws: SkellamEncodingError.notFinite) { try encoder.encode(update: update, rng: &rng) }
    }

    @Test func decoderRefusesASumNoSurvivorCountCouldProduce() throws {
        let decoder = try #require(SkellamDecoder(Self.parameters))
        var sum = [Int64](repeating: 0, count: 64)
        #expect(decoder.decode(sum: sum, survivors: 3) != nil)
        sum[5] = 3 * Self.parameters.largestValue + 1
        #expect(decoder.decode(sum: sum, survivors: 3) == nil)
        #expect(decoder.decode(sum: [1, 2], survivors: 3) == nil)
        #expect(decoder.decode(sum: [Int64](repeating: 0, count: 64), survivors: 0) == nil)
    }
}

func lgammaValue(_ x: Double) -> Double {
    var sign: Int32 = 0
    return lgamma_r(x, &sign)
}

/// The path helper `secagg` runs: devices encode, values travel mod 2^b (two's complement, as
/// `ModularVector`), the shard sums survivors and decodes; the modulus the parameters ask for
/// never wraps and the decoded sum is the clipped updates' sum plus Sk(n·μ)/γ.
struct SkellamModularSumTests {
    @Test func survivorsSumModTwoToTheBDecodesToTheSumOfTheirUpdates() throws {
        let parameters = SkellamParameters(
            clipNorm: 1,
            scale: 200,
            deviceVariance: 100,
            dimension: 40,
            valueBits: 10,
            rotationSeed: 7
        )
        let survivors = 30
        let bits = parameters.requiredModulusBits(cohort: survivors)
        #expect(parameters.problem(cohort: survivors, modulusBits: bits) == nil)
        #expect(parameters.problem(cohort: survivors, modulusBits: bits - 1) != nil)
        let encoder = try #require(SkellamEncoder(parameters))
        let decoder = try #require(SkellamDecoder(parameters))
        let mask: UInt64 = (1 << UInt64(bits)) - 1
        var rng = SplitMix64(seed: 77)
        var modular = [UInt64](repeating: 0, count: parameters.encodedDimension)
        var truth = [Double](repeating: 0, count: parameters.dimension)
        for device in 0..<survivors {
            // Norm 0.5 < C: nothing is clipped, so the truth is the plain sum.
            let update = (0..<parameters.dimension).map {
                Float(((device + $0) % 5) - 2) * 0.5 / Float(40).squareRoot()
            }
            for index in truth.indices { truth[index] += Double(update[index]) }
            let encoded = try encoder.encode(update: update, rng: &rng)
            #expect(encoded.allSatisfy { abs($0) <= parameters.largestValue })
            for index in modular.indices {
                modular[index] = (modular[index] &+ UInt64(bitPattern: encoded[index])) & mask
            }
        }
        let half = UInt64(1) << UInt64(bits - 1)
        let signed = modular.map { $0 >= half ? -Int64(bitPattern: (mask + 1) - $0) : Int64(bitPattern: $0) }
        let decoded = try #require(decoder.decode(sum: signed, survivors: survivors))
        // Noise σ per coordinate √(30·100)/200 ≈ 0.27 (rotated back: the same per coordinate).
        let error = zip(decoded, truth).map { abs(Double($0) - $1) }
        #expect(error.allSatisfy { $0 < 6 * 0.28 }, "largest error \(error.max() ?? 0)")
        let rms = (error.reduce(0) { $0 + $1 * $1 } / Double(error.count)).squareRoot()
        #expect(rms > 0.15 && rms < 0.4, "the noise is there and is the planned size: rms \(rms)")
    }
}
