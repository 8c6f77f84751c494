public import Privacy
public import SecureAggregation
public import Wire

/// The one rule, used by a shard and by each of its devices, that turns a round's
/// `SecureAggregationSettings` and the shard's cohort size into the protocol's numbers.
///
/// Both sides compute it from the same `round.open`, so a shard cannot give one device a
/// smaller threshold than the rest. Degree and threshold come from `GraphParameterFinder`
/// (semi-honest shard, the settings' dropout and corrupt rates); the vector is the model's
/// parameters plus one coordinate for the example weight; the modulus is the smallest whose
/// sum cannot wrap (`secagg.masked` packs it at that many bits, up to 62).
public enum SecAggPlan {
    /// The configuration and quantizer of one shard's round, or why there is none.
    public static func make(
        settings: SecureAggregationSettings,
        cohortSize: Int,
        parameterCount: Int
    ) -> Result<(configuration: SecAggConfiguration, quantizer: SecAggQuantizer), WireError> {
        let (length, overflow) = parameterCount.addingReportingOverflow(1)
        guard !overflow, parameterCount >= 1 else {
            return .failure(WireError(code: .shapeMismatch, detail: "model of \(parameterCount) parameters"))
        }
        let configuration: SecAggConfiguration
        do {
            configuration = try SecAggConfiguration.forShard(
                cohortSize: cohortSize,
                bitsPerValue: settings.skellam?.valueBits ?? settings.valueBits,
                vectorLength: length,
                threatModel: SecAggThreatModel(corruptRate: settings.corruptRate, dropoutRate: settings.dropoutRate)
            )
        } catch {
            return .failure(
                WireError(
                    code: .malformedHeader,
                    detail: "no secure-aggregation graph for \(cohortSize) devices: \(error)"
                )
            )
        }
        guard configuration.modulusBits <= SecAggWireLimits.maxModulusBits else {
            return .failure(
                WireError(
                    code: .overflow,
                    detail:
                        "\(settings.skellam?.valueBits ?? settings.valueBits)-bit values summed over \(cohortSize) devices need \(configuration.modulusBits) bits; the wire carries \(SecAggWireLimits.maxModulusBits)"
                )
            )
        }
        guard let quantizer = SecAggQuantizer(configuration: configuration, clipNorm: settings.clipNorm) else {
            return .failure(WireError(code: .malformedHeader, detail: "clip norm \(settings.clipNorm)"))
        }
        return .success((configuration, quantizer))
    }

    /// Why a secure round cannot run in this build, on either side: float noise added on the
    /// device before integer masking (`distributed`, `local`) is not the mechanism the
    /// accountant describes, a `skellam` round must carry the numbers the auditor approved, and
    /// only training rounds carry a delta to mask.
    public static func refusal(of open: RoundOpen) -> WireError? {
        guard open.kind == .train else {
            return WireError(code: .malformedHeader, detail: "secure aggregation of a \(open.kind.rawValue) round")
        }
        switch open.privacy.placement {
        case .distributed, .local:
            return WireError(
                code: .malformedHeader,
                detail: "secure aggregation with \(open.privacy.placement.rawValue) noise is not supported"
            )
        case .skellam:
            guard open.secureAggregation?.skellam != nil else {
                return WireError(code: .malformedHeader, detail: "a skellam round without its Skellam settings")
            }
            return nil
        case .central, .off:
            return nil
        }
    }

    /// The L2 norm a device clips its delta to before quantizing: the quantizer's range, and
    /// under central DP also C − √d·u, so that the ROUNDED vector, which is what the unmasked
    /// sum holds, has norm at most the C the global's noise is calibrated to (rounding moves a
    /// vector by less than √d·u; the shard cannot re-clip what it never sees). Refused when no
    /// room is left: values of so few bits cannot carry a d-parameter update privately.
    public static func deviceClipNorm(
        open: RoundOpen,
        quantizer: SecAggQuantizer,
        parameterCount: Int
    ) -> Result<Double, WireError> {
        guard open.privacy.placement == .central else { return .success(quantizer.clipNorm) }
        let clipNorm = open.privacy.clipNorm ?? quantizer.clipNorm
        let (limit, rounding) = centralClip(
            clipNorm: clipNorm,
            range: quantizer.clipNorm,
            step: quantizer.step,
            parameterCount: parameterCount
        )
        guard limit > 0, limit.isFinite else {
            return .failure(
                WireError(
                    code: .malformedHeader,
                    detail:
                        "\(quantizer.configuration.bitsPerValue)-bit values round a \(parameterCount)-parameter update by up to \(rounding), at least the clip norm \(clipNorm) the central noise is for"
                )
            )
        }
        return .success(limit)
    }

    /// min(range, C − √d·u) and the rounding √d·u: the rule of ``deviceClipNorm(open:quantizer:parameterCount:)``,
    /// also what the coordinator checks at start-up (no room left: every round would be refused).
    public static func centralClip(
        clipNorm: Double,
        range: Double,
        step: Double,
        parameterCount: Int
    ) -> (limit: Double, rounding: Double) {
        let rounding = Double(max(parameterCount, 0)).squareRoot() * step
        return (min(range, clipNorm - rounding), rounding)
    }

    /// The Skellam encoder's and decoder's parameters of a `skellam` round, or why there are
    /// none: C is the round's clip norm (what the auditor charged), no rotation (the settings'
    /// dimension is then the update's length), and the sum of `cohortSize` devices must fit
    /// `modulusBits`.
    public static func skellamParameters(
        open: RoundOpen,
        parameterCount: Int,
        cohortSize: Int,
        modulusBits: Int
    ) -> Result<SkellamParameters, WireError> {
        guard let settings = open.secureAggregation, let skellam = settings.skellam else {
            return .failure(WireError(code: .malformedHeader, detail: "a skellam round without its Skellam settings"))
        }
        let clipNorm = open.privacy.clipNorm ?? settings.clipNorm
        guard
            let parameters = SkellamParameters(
                skellam,
                clipNorm: clipNorm,
                dimension: parameterCount,
                rotationSeed: nil
            )
        else {
            return .failure(
                WireError(
                    code: .shapeMismatch,
                    detail:
                        "Skellam settings for \(skellam.dimension) values (γ \(skellam.scale), μ \(skellam.deviceVariance), \(skellam.valueBits) bits) do not run on a model of \(parameterCount) parameters clipped to \(clipNorm)"
                )
            )
        }
        if let problem = parameters.problem(cohort: cohortSize, modulusBits: modulusBits) {
            return .failure(WireError(code: .overflow, detail: problem))
        }
        return .success(parameters)
    }

    /// The largest cohort one shard may secure-aggregate with `valueBits`-bit values: the sum
    /// of n values needs valueBits + ⌈log2 n⌉ bits, the wire carries 62, the protocol 2^20 devices.
    public static func largestCohort(valueBits: Int) -> Int {
        let spare = SecAggWireLimits.maxModulusBits - valueBits
        return spare <= 0 ? 1 : min(1 << min(spare, 62), SecAggConfiguration.maxCohort)
    }

    /// The protocol's round id: the wire's, in decimal (what `NeighbourAnnouncement(wire:)` reads).
    static func protocolRoundId(_ roundId: Int) -> String { String(roundId) }
}
