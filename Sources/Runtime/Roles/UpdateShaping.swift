import Privacy
import Wire

/// The privacy steps between local training and the wire: clip Δ to C, add this worker's noise
/// share. Under DP-off with a clip norm configured, clipping alone still bounds a poisoned update.
enum UpdateShaping {
    struct Outcome {
        var preClipNorm: Double
        var clipped: Bool
    }

    static func apply(
        to delta: inout [Float],
        privacy: PrivacySettings,
        rng: inout some RandomNumberGenerator
    ) -> Outcome {
        guard let clipNorm = privacy.clipNorm else {
            return Outcome(preClipNorm: Clipping.l2Norm(delta), clipped: false)
        }
        let report = Clipping.clip(&delta, to: clipNorm)
        let noise = DPFedAvgNoise(
            noiseMultiplier: privacy.noiseMultiplier,
            clipNorm: clipNorm,
            placement: privacy.placement.privacyPlacement,
            expectedCohort: Double(privacy.expectedCohort)
        )
        let deviation = noise.workerNoiseStandardDeviation
        if deviation > 0 { GaussianSampler.addNoise(to: &delta, standardDeviation: deviation, using: &rng) }
        return Outcome(preClipNorm: report.preClipNorm, clipped: report.wasClipped)
    }
}

/// The global aggregator's one draw of central noise N(0, σ²) per coordinate of the sum.
enum CentralNoise {
    static func add(to sum: inout [Float], standardDeviation: Double) {
        var generator = SystemRandomNumberGenerator()
        GaussianSampler.addNoise(to: &sum, standardDeviation: standardDeviation, using: &generator)
    }
}

extension Wire.NoisePlacement {
    /// The privacy module's name of the placement: total, case for case (no silent fallback that
    /// would drop a worker's noise share).
    var privacyPlacement: Privacy.NoisePlacement {
        switch self {
        case .off: .off
        case .central: .central
        case .distributed: .distributed
        case .local: .local
        }
    }
}
