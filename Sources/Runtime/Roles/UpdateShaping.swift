import Federation
import Privacy
import Rounds
import Wire

/// The steps between local training and the wire, in this order: add the error-feedback
/// residual (top-k / rand-k only), clip Δ, add this worker's noise share, encode. Under
/// DP-off with a clip norm configured, clipping alone still bounds a poisoned update.
///
/// Encoding comes last. Under `local` noise it is post-processing of a DP output (each
/// device's noised delta is private on its own), and under `central` the shard re-measures the
/// decoded update's norm and enforces C, so both clip to C and stochastic rounding only adds
/// zero-mean variance. Under `distributed` noise it is not: a device's share is 1/√n of the
/// noise, so its rounding error, up to √d·u, depends on its data. The clip is then
/// C − 2·√d·u (``EdgeRound/plainClipNorm(privacy:compression:parameterCount:roundId:)``),
/// which keeps what neighbouring datasets put in the sum within the C the noise is for.
enum UpdateShaping {
    struct Outcome {
        var preClipNorm: Double
        var clipped: Bool
    }

    /// Clips and noises `delta` in place after adding `residual` when the round's compression
    /// keeps one (what earlier rounds did not send is owed to the model, not dropped). A round
    /// whose quantization leaves no clip norm that keeps its promise is refused, and `delta`
    /// becomes zeros: nothing of the data is left to send by mistake.
    static func apply(
        to delta: inout [Float],
        round: RoundOpen,
        residual: [Float],
        rng: inout some RandomNumberGenerator
    ) -> Result<Outcome, EdgeRefusal> {
        let clipNorm: Double?
        switch EdgeRound.plainClipNorm(
            privacy: round.privacy,
            compression: round.compression,
            parameterCount: delta.count,
            roundId: round.roundId
        ) {
        case .success(let limit): clipNorm = limit
        case .failure(let refusal):
            delta = [Float](repeating: 0, count: delta.count)
            return .failure(refusal)
        }
        if let compression = round.compression, compression.sparsification != .none, residual.count == delta.count {
            for index in delta.indices { delta[index] += residual[index] }
        }
        return .success(apply(to: &delta, privacy: round.privacy, clipNorm: clipNorm, rng: &rng))
    }

    /// The `update` tensors of a shaped delta under the round's compression; `residual` becomes
    /// what this round did not send (empty when the round keeps none).
    static func encode(
        _ delta: [Float],
        round: RoundOpen,
        residual: inout [Float],
        rng: inout some RandomNumberGenerator
    ) -> [Tensor] {
        guard let settings = round.compression,
            case .success(let plan) = CompressionPlan.make(
                settings,
                parameterCount: delta.count,
                roundId: round.roundId
            )
        else {
            residual = []
            return [.f32le(name: "delta", delta)]
        }
        let encoder = UpdateEncoder(plan: plan)
        let encoded = encoder.encode(delta, using: &rng)
        residual = encoder.usesErrorFeedback ? encoded.residual : []
        return encoded.tensors
    }

    /// Clips to `clipNorm` (at most C) and adds this worker's share of noise sized for C.
    static func apply(
        to delta: inout [Float],
        privacy: PrivacySettings,
        clipNorm limit: Double?,
        rng: inout some RandomNumberGenerator
    ) -> Outcome {
        guard let clipNorm = privacy.clipNorm, let limit else {
            return Outcome(preClipNorm: Clipping.l2Norm(delta), clipped: false)
        }
        let report = Clipping.clip(&delta, to: min(limit, clipNorm))
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
        case .skellam: .skellam
        }
    }
}
