public import Federation
public import Learning
public import Rounds
import SecureAggregation
public import Wire

/// Everything a coordinator needs to run, gathered by the CLI from flags and `FEDPULSE_*` variables.
///
/// The round settings live in ``Rounds/CoordinatorSettings`` (the state machine's share) and are
/// reached through this type as if they were its own (`config.rounds`); here are only what the
/// shell needs besides: endpoints, files, the model spec and the cohort flag as given.
@dynamicMemberLookup
public struct CoordinatorConfig: Sendable {
    /// Where the PUB socket for `round.open`, `round.summary` and `run.end` binds.
    public var broadcastEndpoint = "tcp://127.0.0.1:7001"
    /// CURVE on every socket with the enrolment allowlist, or none (`TransportSecurity.insecure`).
    public var security: TransportSecurity = .insecure
    /// Where the PULL socket for check-ins, heartbeats and model candidates binds.
    public var controlEndpoint = "tcp://127.0.0.1:7002"
    /// The auditor's events PULL and ledger PUB; when unset, rounds need no approval (DP off only).
    public var auditorEvents: String?
    public var auditorLedger: String?
    public var spec: ModelSpec
    public var sampling: CohortSamplingSetting = .all
    public var stateDirectory: String?
    /// The round state machine's settings; `cohort` and `hasAuditor` follow `sampling` and the
    /// auditor endpoints in ``roundSettings``.
    public var round = CoordinatorSettings()

    public init(spec: ModelSpec) {
        self.spec = spec
    }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<CoordinatorSettings, T>) -> T {
        get { round[keyPath: keyPath] }
        set { round[keyPath: keyPath] = newValue }
    }

    /// Why this configuration must not run, in a sentence a user can act on; nil when it may.
    ///
    /// Under DP a coordinator without a state directory would start again at round 1 after a
    /// restart and re-run rounds against the same ledger; fixed-size cohorts are sampling without
    /// replacement, which the auditor's Poisson accountant does not cover.
    public var misconfiguration: String? {
        let placement = round.privacy.placement
        guard placement != .off else { return nil }
        if stateDirectory == nil {
            return
                "--dp \(placement.rawValue) needs --state-dir: without a checkpoint a restarted coordinator would re-run rounds against the same privacy ledger"
        }
        if case .fixedSize = sampling {
            return
                "--cohort-size is refused under --dp: a fixed-size cohort is sampling without replacement, which needs another accountant than the auditor's Poisson one; use --sampling-rate"
        }
        if auditorEvents == nil || auditorLedger == nil {
            return "--dp \(placement.rawValue) needs an auditor: --auditor-events and --auditor-ledger"
        }
        return Self.compressionProblem(
            privacy: round.privacy,
            compression: round.compression,
            secureAggregation: round.secureAggregation,
            parameterCount: spec.parameterCount
        )
    }

    /// Why the devices or shards would refuse every round of this privacy and compression while
    /// the auditor approves, and charges, each retry; nil when rounds can run. Without the
    /// model's `parameterCount` only what does not depend on it is checked.
    ///
    /// A distributed round's range is C + 4σ_w, at least C (its value for an infinite cohort):
    /// refused here is what no round of the run could carry; a round whose cohort makes the
    /// range wider than the model allows is refused by each device (``EdgeRound/plainClipNorm(privacy:compression:parameterCount:roundId:)``).
    public static func compressionProblem(
        privacy: PrivacySettings,
        compression: CompressionChoice,
        secureAggregation: SecureAggregationSettings? = nil,
        parameterCount: Int? = nil
    ) -> String? {
        if !compression.sparsification.keepsChargedNoise(under: privacy.placement) {
            return
                "--dp distributed does not combine with --compression \(compression): topk keeps each device's own largest coordinates, so a coordinate of the sum carries fewer noise shares than the auditor charges for and no shard sums it; use randk:F or --dp central"
        }
        guard let parameterCount else { return nil }
        if privacy.placement == .distributed, compression.quantization != .f32, let clipNorm = privacy.clipNorm,
            case .failure(let refusal) = EdgeRound.plainClipNorm(
                privacy: privacy,
                compression: compression.settings(range: clipNorm, seed: 0),
                parameterCount: parameterCount,
                roundId: 1
            )
        {
            return
                "--dp distributed with --compression \(compression) cannot carry this model even at the narrowest range (R = C): \(refusal.reason); use q8 rather than q4, a smaller model, or --dp central"
        }
        if privacy.placement == .central, let secureAggregation {
            return Self.secureRoundingProblem(
                privacy: privacy,
                secure: secureAggregation,
                parameterCount: parameterCount
            )
        }
        return nil
    }

    /// The devices' own rule (`SecAggPlan.centralClip`, with the quantizer's step for the
    /// settings' range S and b value bits): under central DP a secure-aggregated device clips to
    /// min(S, C − √d·u); no room left means every round would be refused.
    static func secureRoundingProblem(
        privacy: PrivacySettings,
        secure: SecureAggregationSettings,
        parameterCount: Int
    ) -> String? {
        let bits = secure.valueBits
        guard (2...62).contains(bits), parameterCount > 0 else { return nil }
        let clipNorm = privacy.clipNorm ?? secure.clipNorm
        let (limit, rounding) = SecAggPlan.centralClip(
            clipNorm: clipNorm,
            range: secure.clipNorm,
            step: SecAggQuantizer.step(clipNorm: secure.clipNorm, bitsPerValue: bits),
            parameterCount: parameterCount
        )
        guard !(limit > 0 && limit.isFinite) else { return nil }
        return
            "--secure-aggregation under --dp central with \(bits)-bit values rounds a \(parameterCount)-parameter update by up to \(rounding), at least the clip norm \(clipNorm) the central noise is for, so every round would be refused; use more bits (--compression q8 or --secagg-value-bits) or a smaller --secagg-clip"
    }

    /// The settings the round state machine runs with.
    var roundSettings: CoordinatorSettings {
        var settings = round
        switch sampling {
        case .all: settings.cohort = .all
        case .fixedSize(let size): settings.cohort = .fixedSize(size)
        case .poisson(let rate): settings.cohort = .poisson(rate: rate)
        }
        settings.hasAuditor = auditorEvents != nil && auditorLedger != nil
        return settings
    }
}

/// How the CLI names a cohort rule; resolved against the live population each round.
public enum CohortSamplingSetting: Sendable, Equatable {
    /// Every eligible worker.
    case all
    case fixedSize(Int)
    case poisson(rate: Double)
}
