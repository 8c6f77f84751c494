import Foundation

/// What clipping did to one update: the worker sends it, the shard and the ledger flag it.
///
/// Why keep the pre-clip norm: a huge norm is the signature of a poisoned or broken update; the
/// clipped vector alone cannot show it.
public struct ClipReport: Hashable, Sendable {
    /// ‖Δ‖₂ before clipping (`.infinity` or NaN when the update was not finite).
    public var preClipNorm: Double
    /// The bound C the update was clipped to.
    public var clipNorm: Double
    /// Whether the update was scaled down (or zeroed because it was not finite).
    public var wasClipped: Bool

    /// Whether the update held only finite values; a non-finite update is zeroed, and callers should reject it.
    public var wasFinite: Bool { preClipNorm.isFinite }
}

/// Clipping of an update to L2 norm C: the step that bounds each client's sensitivity.
public enum Clipping {
    /// ‖v‖₂ accumulated in Double, so large Float models do not lose precision.
    public static func l2Norm(_ vector: [Float]) -> Double {
        var sum = 0.0
        for value in vector {
            let v = Double(value)
            sum += v * v
        }
        return sum.squareRoot()
    }

    /// Scales `update` in place to norm ≤ `clipNorm` (Δ·min(1, C/‖Δ‖)).
    ///
    /// A non-finite update is replaced by zeros: it cannot be scaled, and a zero contribution
    /// keeps the sensitivity bound whatever the caller then does.
    @discardableResult
    public static func clip(_ update: inout [Float], to clipNorm: Double) -> ClipReport {
        precondition(clipNorm > 0 && clipNorm.isFinite, "clip norm must be positive and finite")
        let norm = l2Norm(update)
        guard norm.isFinite else {
            for index in update.indices { update[index] = 0 }
            return ClipReport(preClipNorm: norm.isNaN ? .nan : .infinity, clipNorm: clipNorm, wasClipped: true)
        }
        guard norm > clipNorm else {
            return ClipReport(preClipNorm: norm, clipNorm: clipNorm, wasClipped: false)
        }
        let scale = clipNorm / norm
        for index in update.indices {
            update[index] = Float(Double(update[index]) * scale)
        }
        return ClipReport(preClipNorm: norm, clipNorm: clipNorm, wasClipped: true)
    }
}

/// Adaptive clipping (Andrew et al. 2021, "Differentially Private Learning with Adaptive
/// Clipping"): the clip norm tracks the γ-quantile of update norms.
///
/// Each client reports the centred bit bᵢ − ½ with bᵢ = 1[‖Δᵢ‖ ≤ C] (sensitivity ½); the server
/// sees their sum plus N(0, σ_b²), estimates b̃ = (noised sum)/m + ½ over the fixed expected
/// cohort m, and updates C ← C·exp(−η_C(b̃ − γ)). If fewer than a γ fraction fit under C the norm
/// grows, otherwise it shrinks.
///
/// **Accounting.** The count is a second Gaussian release of the same clients. Releasing the
/// update with multiplier z_Δ and the count with σ_b is, jointly, a Gaussian mechanism with
/// multiplier z where z⁻² = z_Δ⁻² + (2σ_b)⁻². So the accountant composes z (the target), and the
/// update noise must use the larger z_Δ = (z⁻² − (2σ_b)⁻²)^(−½), which exists only if 2σ_b > z.
public struct AdaptiveClipping: Hashable, Codable, Sendable {
    /// The current clip norm C.
    public private(set) var clipNorm: Double
    /// γ, the fraction of updates that should fit under C unclipped (0.5 tracks the median).
    public var targetQuantile: Double
    /// η_C, the geometric step size (Andrew et al. use 0.2).
    public var learningRate: Double
    /// σ_b, the standard deviation of the noise on the clipped-count sum.
    public var countNoiseStandardDeviation: Double

    /// Starts at `initialClipNorm`.
    public init(
        initialClipNorm: Double,
        targetQuantile: Double = 0.5,
        learningRate: Double = 0.2,
        countNoiseStandardDeviation: Double
    ) {
        precondition(initialClipNorm > 0 && (0...1).contains(targetQuantile), "invalid adaptive clipping parameters")
        self.clipNorm = initialClipNorm
        self.targetQuantile = targetQuantile
        self.learningRate = learningRate
        self.countNoiseStandardDeviation = countNoiseStandardDeviation
    }

    /// The centred bit a client reports: +½ if its update fit under C, −½ if it was clipped.
    public func indicator(preClipNorm: Double) -> Double {
        preClipNorm <= clipNorm ? 0.5 : -0.5
    }

    /// Applies one round's already-noised sum of indicators; returns b̃, the estimated unclipped fraction.
    @discardableResult
    public mutating func noisedIndicatorsReceived(sum noisedSum: Double, expectedCohort: Double) -> Double {
        precondition(expectedCohort > 0, "expected cohort must be positive")
        let fraction = noisedSum / expectedCohort + 0.5
        clipNorm *= exp(-learningRate * (fraction - targetQuantile))
        return fraction
    }

    /// Server side: adds N(0, σ_b²) to the raw indicator sum, then updates C; returns b̃.
    @discardableResult
    public mutating func indicatorsReceived(
        sum: Double,
        expectedCohort: Double,
        using generator: inout some RandomNumberGenerator
    ) -> Double {
        let noise = GaussianSampler.standardNormal(using: &generator) * countNoiseStandardDeviation
        return noisedIndicatorsReceived(sum: sum + noise, expectedCohort: expectedCohort)
    }

    /// z_Δ = (z⁻² − (2σ_b)⁻²)^(−½): the update's noise multiplier so that update and count together
    /// cost what a single Gaussian with multiplier z does; nil when 2σ_b ≤ z (no z_Δ can do it).
    public static func updateNoiseMultiplier(
        accountedNoiseMultiplier z: Double,
        countNoiseStandardDeviation sigmaB: Double
    ) -> Double? {
        guard z > 0, sigmaB > 0 else { return nil }
        let remainder = 1 / (z * z) - 1 / (4 * sigmaB * sigmaB)
        guard remainder > 0 else { return nil }
        return 1 / remainder.squareRoot()
    }

    /// The inverse: the z to give the accountant when the update used z_Δ and the count σ_b.
    public static func accountedNoiseMultiplier(
        updateNoiseMultiplier zDelta: Double,
        countNoiseStandardDeviation sigmaB: Double
    ) -> Double {
        guard zDelta > 0, sigmaB > 0 else { return 0 }
        return 1 / (1 / (zDelta * zDelta) + 1 / (4 * sigmaB * sigmaB)).squareRoot()
    }
}
