import ArgumentParser
import Wire

/// `--secure-aggregation` and its parameters, for the coordinator (which announces them in
/// every training round's `round.open`) and the demo (which passes them on).
struct SecureAggregationOptions: ParsableArguments {
    @Flag(
        help: """
            Run SecAgg+ inside every shard of every training round: devices clip, quantize and mask \
            their updates, and a shard releases only the sum of the survivors (it can no longer check \
            one update's norm; the clip bounds what a device can add).
            """
    )
    var secureAggregation = false

    @Option(
        help:
            "Bits per quantized value under secure aggregation (2…32; the masked sum of n devices is packed at bits + ⌈log2 n⌉)."
    )
    var secaggValueBits: Int = 16

    @Option(
        help: "Quantizer range C under secure aggregation (updates are clipped to L2 norm C); default: --clip, else 10."
    )
    var secaggClip: Double?

    @Option(help: "Fraction of a shard's devices expected to drop out mid-round, [0, 0.5).")
    var secaggDropoutRate: Double = 0.3

    @Option(help: "Fraction of devices assumed to collude with the shard, [0, 0.5).")
    var secaggCorruptRate: Double = 0.05

    @Option(help: "Milliseconds each of the last three stages may take (default: a fifth of the round timeout).")
    var secaggStageTimeoutMs: Int?

    /// Refuses what secure aggregation cannot be combined with in this build.
    func check(compression: String, placement: NoisePlacement, participationCap: Int?) throws {
        guard secureAggregation else { return }
        guard (2...SecureAggregationSettings.maxValueBits).contains(secaggValueBits) else {
            throw ValidationError("--secagg-value-bits must be in 2…\(SecureAggregationSettings.maxValueBits)")
        }
        if let secaggClip, !(secaggClip > 0 && secaggClip <= 1e6) {
            throw ValidationError("--secagg-clip must be in (0, 1e6]")
        }
        guard (0..<0.5).contains(secaggDropoutRate), (0..<0.5).contains(secaggCorruptRate) else {
            throw ValidationError("--secagg-dropout-rate and --secagg-corrupt-rate must be in [0, 0.5)")
        }
        if let secaggStageTimeoutMs, !(1...600_000).contains(secaggStageTimeoutMs) {
            throw ValidationError("--secagg-stage-timeout-ms must be in 1…600000")
        }
        guard compression == "f32" else {
            throw ValidationError(
                "--secure-aggregation does not combine with --compression yet: masks are added to the quantized integers of its own quantizer"
            )
        }
        switch placement {
        case .distributed, .local:
            throw ValidationError(
                "--secure-aggregation with --dp \(placement.rawValue) would add float noise before integer masking, which is not the mechanism the accountant describes; use --dp central (noise on the global) until the discrete (Skellam) mechanism lands"
            )
        case .skellam, .central, .off:
            break
        }
        if placement != .off, participationCap != nil {
            throw ValidationError(
                "--participation-cap does not combine with --secure-aggregation under --dp: members that did not sample themselves take part with weight 0, so no shard can name who contributed"
            )
        }
    }

    /// The `round.open` settings, nil without `--secure-aggregation`; `skellam` is the round's
    /// Skellam numbers under `--dp skellam` (the ones proposed to the auditor).
    func settings(
        clipNorm: Double?,
        roundTimeoutMillis: Int64,
        skellam: SkellamSettings? = nil
    ) -> SecureAggregationSettings? {
        guard secureAggregation else { return nil }
        let stage = secaggStageTimeoutMs ?? Int(max(50, min(600_000, roundTimeoutMillis / 5)))
        return SecureAggregationSettings(
            valueBits: secaggValueBits,
            clipNorm: secaggClip ?? clipNorm ?? 10,
            dropoutRate: secaggDropoutRate,
            corruptRate: secaggCorruptRate,
            stageTimeoutMillis: stage,
            skellam: skellam
        )
    }

    /// The coordinator's command-line arguments for these settings (the demo passes them on).
    var arguments: [String] {
        guard secureAggregation else { return [] }
        var arguments = [
            "--secure-aggregation", "--secagg-value-bits", "\(secaggValueBits)",
            "--secagg-dropout-rate", "\(secaggDropoutRate)", "--secagg-corrupt-rate", "\(secaggCorruptRate)",
        ]
        if let secaggClip { arguments += ["--secagg-clip", "\(secaggClip)"] }
        if let secaggStageTimeoutMs { arguments += ["--secagg-stage-timeout-ms", "\(secaggStageTimeoutMs)"] }
        return arguments
    }
}
