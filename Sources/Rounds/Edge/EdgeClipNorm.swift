import Federation
public import Wire

/// Why a device will not take part in a round, in a sentence for its log.
public struct EdgeRefusal: Error, Sendable, Equatable {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }
}

extension EdgeRound {
    /// The L2 norm a device clips its delta to on the plain (not secure-aggregated) path, nil
    /// without a clip norm, or why no norm can keep the round's privacy promise.
    ///
    /// Under `distributed` noise each device adds only its 1/√n share, so its stochastic
    /// rounding is not post-processing of a DP output: the rounding moves its vector by less
    /// than √d·u (u the quantizer's step, d the values it rounds), and two neighbouring datasets
    /// under the same noise and rounding draws by less than ‖x − x′‖ + 2·√d·u. Clipping to
    /// C − 2·√d·u keeps that within the C the auditor charges for. Refused when that leaves no
    /// room: the values have too few levels to carry a d-parameter update privately. Under
    /// `local` noise each device's output is DP on its own and under `central` the shard
    /// re-measures the decoded update's norm, so both clip to C.
    public static func plainClipNorm(
        privacy: PrivacySettings,
        compression: CompressionSettings?,
        parameterCount: Int,
        roundId: Int
    ) -> Result<Double?, EdgeRefusal> {
        guard let clipNorm = privacy.clipNorm else { return .success(nil) }
        guard privacy.placement == .distributed, let compression, compression.quantization != .f32 else {
            return .success(clipNorm)
        }
        let plan: CompressionPlan
        switch CompressionPlan.make(compression, parameterCount: parameterCount, roundId: roundId) {
        case .success(let made): plan = made
        case .failure(let error): return .failure(EdgeRefusal(error.detail))
        }
        let rounding = 2 * plan.quantizationErrorBound
        let limit = clipNorm - rounding
        guard limit > 0, limit.isFinite else {
            return .failure(
                EdgeRefusal(
                    "\(compression.quantization.rawValue) values of range \(compression.range ?? 1) move a \(parameterCount)-parameter update under distributed noise by up to \(rounding) between neighbouring datasets, at least the clip norm \(clipNorm) the noise is for"
                )
            )
        }
        return .success(limit)
    }
}
