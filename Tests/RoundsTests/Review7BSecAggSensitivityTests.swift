import Learning
import Privacy
import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// Central DP over a secure-aggregated shard: the global adds N(0, z²C²) for a sensitivity of
/// C, so every device's contribution to the unmasked sum must have L2 norm at most C. The shard
/// cannot check that (it never sees one input); the device must make it true of what it masks.
///
/// A device clipped its delta to C and then rounded each coordinate stochastically to the
/// quantizer's grid of step u = C/(2^(k−1) − 1): the rounded vector's norm reaches C + √d·u
/// (here, at 4-bit values, C + 2.4·C/7 ≈ 1.35·C), and nothing bounded it again.
@Suite struct Review7BSecAggSensitivityTests {
    static let clipNorm = 4.0
    static let parameters = SecAggSessionTests.parameters
    static let devices = 10

    static func open() -> Message<RoundOpen> {
        var message = SecAggSessionTests.open(devices: devices)
        message.body.privacy = PrivacySettings(
            placement: .central,
            clipNorm: clipNorm,
            noiseMultiplier: 1,
            expectedCohort: devices
        )
        message.body.secureAggregation?.valueBits = 4
        message.body.secureAggregation?.clipNorm = clipNorm
        return message
    }

    /// The target's delta: norm C on two coordinates, each just under a grid point once scaled
    /// (2.83 = 4.95·u), so stochastic rounding rounds both up with probability 0.9.
    static func delta(_ index: Int) -> [Float] {
        var delta = [Float](repeating: 0, count: parameters)
        if index == 0 {
            delta[0] = Float(clipNorm / 2.0.squareRoot())
            delta[1] = delta[0]
        }
        return delta
    }

    @Test func oneDevicesShareOfTheReleasedSumNeverExceedsTheClipNormTheNoiseIsFor() throws {
        var seedsOverTheBound: [UInt64] = []
        for seed in UInt64(1)...8 {
            let run = try SecAggSkellamTests.run(Self.open(), seed: seed, delta: Self.delta)
            let (partial, tensors) = try #require(run.partial)
            #expect(run.failures.isEmpty && partial.contributors == Self.devices)
            // Every other device masked a zero delta, which rounds to exactly zero: the sum is
            // the target's contribution alone.
            let sum = try #require(tensors.first { $0.name == "sum" }).floats()
            let norm = sum.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
            if norm > Self.clipNorm * (1 + 1e-6) { seedsOverTheBound.append(seed) }
        }
        #expect(
            seedsOverTheBound.isEmpty,
            "one device's contribution was above C = \(Self.clipNorm) with seeds \(seedsOverTheBound)"
        )
    }
}
