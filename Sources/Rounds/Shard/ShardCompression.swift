import Federation
import Privacy
import Wire

/// A shard's reading of compressed updates: decode to d floats under the round's plan, then
/// apply the DP norm rule to the DECODED update, so an encoding cannot carry a larger norm past
/// the check (q8 levels all at 255 decode to R in every coordinate, a norm of R·√d).
///
/// The rule under DP: an honest update has norm at most `honestNorm` = C + σ_w(√d + 10) before
/// encoding (σ_w the worker's own noise share, 0 under central noise), and stochastic rounding
/// moves it by at most `plan.quantizationErrorBound`. Above that sum it is refused as
/// `normTooLarge`; between `honestNorm` and the sum it is scaled back to `honestNorm` (re-clipped),
/// so the sum the global aggregator noises still has sensitivity C under central noise. Then
/// the ordinary f32 path checks it again, norm recomputed, as for any update.
struct ShardCompression {
    let decoder: UpdateDecoder
    /// nil without DP: no norm rule.
    let honestNorm: Double?
    let normLimit: Double

    /// The round's decoding, nil when updates are plain `f32le` (no setting, or a statistics round).
    static func make(_ open: RoundOpen, layout: TensorLayout, underDP: Bool) -> Result<ShardCompression?, WireError> {
        guard open.kind == .train, let settings = open.compression else { return .success(nil) }
        if underDP, !settings.sparsification.keepsChargedNoise(under: open.privacy.placement) {
            return .failure(
                WireError(
                    code: .malformedHeader,
                    detail: "topk under distributed noise: the sum would not carry the noise the ledger charges for"
                )
            )
        }
        let plan: CompressionPlan
        switch CompressionPlan.make(settings, parameterCount: layout.elementCount, roundId: open.roundId) {
        case .failure(let error): return .failure(error)
        case .success(let made): plan = made
        }
        var honestNorm: Double?
        var limit = Double.infinity
        if underDP, let clipNorm = open.privacy.clipNorm,
            let placement = Privacy.NoisePlacement(rawValue: open.privacy.placement.rawValue)
        {
            let noise = DPFedAvgNoise(
                noiseMultiplier: open.privacy.noiseMultiplier,
                clipNorm: clipNorm,
                placement: placement,
                expectedCohort: Double(open.privacy.expectedCohort)
            )
            let sigma = noise.workerNoiseStandardDeviation
            let honest = clipNorm + (sigma > 0 ? sigma * (Double(layout.elementCount).squareRoot() + 10) : 0)
            honestNorm = honest
            limit = honest * (1 + 1e-5) + 1e-6 + plan.quantizationErrorBound
        }
        return .success(ShardCompression(decoder: UpdateDecoder(plan: plan), honestNorm: honestNorm, normLimit: limit))
    }

    /// The update as one `f32le` `delta` tensor, or why it is refused.
    func decode(_ tensors: [Tensor], digest: ([UInt8]) -> String) -> Result<[Tensor], WireError> {
        for tensor in tensors {
            if let claimed = tensor.sha256, digest(tensor.bytes) != claimed {
                return .failure(WireError(code: .digestMismatch, detail: "\(tensor.name) does not hash to its sha256"))
            }
        }
        var dense: [Float]
        switch decoder.decode(tensors) {
        case .failure(let error): return .failure(error)
        case .success(let decoded): dense = decoded
        }
        if let honestNorm {
            let norm = Clipping.l2Norm(dense)
            guard norm <= normLimit else {
                return .failure(
                    WireError(
                        code: .normTooLarge,
                        detail: "decoded L2 norm \(norm) is above \(normLimit) (clip bound plus quantization error)"
                    )
                )
            }
            if norm > honestNorm {
                let scale = Float(honestNorm / norm)
                for index in dense.indices { dense[index] *= scale }
            }
        }
        return .success([.f32le(name: "delta", dense)])
    }
}
