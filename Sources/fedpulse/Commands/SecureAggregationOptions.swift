import ArgumentParser
import SecureAggregation
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
            "Bits per quantized value under secure aggregation (2…32; the masked sum of n devices is packed at bits + ⌈log2 n⌉); default 16, or 8 and 4 with --compression q8 and q4."
    )
    var secaggValueBits: Int?

    /// The bits each masked value has: `--secagg-value-bits`, else the levels `--compression`
    /// names. Why q8 and q4 compose: secure aggregation already rounds each coordinate
    /// stochastically to evenly spaced levels of a range the cohort shares, which is what q8 and
    /// q4 are; with 8 bits those levels are the masked integers, so the upload shrinks with them.
    func valueBits(compression: String) -> Int {
        secaggValueBits ?? Self.levelBits(compression) ?? 16
    }

    /// The bits `--compression` names for each value (q8, q4), nil for any other encoding.
    static func levelBits(_ compression: String) -> Int? {
        compression == "q8" ? 8 : compression == "q4" ? 4 : nil
    }

    @Option(
        help: "Quantizer range C under secure aggregation (updates are clipped to L2 norm C); default: --clip, else 10."
    )
    var secaggClip: Double?

    @Option(help: "Fraction of a shard's devices expected to drop out mid-round, [0, 0.5).")
    var secaggDropoutRate: Double = SecAggThreatModel.defaults.dropoutRate

    @Option(help: "Fraction of devices assumed to collude with the shard, [0, 0.5).")
    var secaggCorruptRate: Double = SecAggThreatModel.defaults.corruptRate

    @Option(help: "Milliseconds each of the last three stages may take (default: a fifth of the round timeout).")
    var secaggStageTimeoutMs: Int?

    /// Refuses what secure aggregation cannot be combined with in this build.
    func check(compression: String, placement: NoisePlacement, participationCap: Int?) throws {
        guard secureAggregation else { return }
        guard (2...SecureAggregationSettings.maxValueBits).contains(valueBits(compression: compression)) else {
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
        guard ["f32", "q8", "q4"].contains(compression) else {
            let reason =
                compression.hasPrefix("topk")
                ? "topk keeps each device's own coordinates, which a masked sum cannot line up"
                : "randk and rotate are not wired through the masks yet"
            throw ValidationError(
                "--secure-aggregation composes with --compression q8 or q4 (its masked integers are those levels), not \(compression): \(reason)"
            )
        }
        if placement == .skellam, compression != "f32" {
            throw ValidationError(
                "--dp skellam picks its own integers (γ, the noise tail and the value bits); drop --compression \(compression)"
            )
        }
        if let secaggValueBits, let implied = Self.levelBits(compression), secaggValueBits != implied {
            throw ValidationError(
                "--compression \(compression) means \(implied)-bit values; drop --secagg-value-bits \(secaggValueBits) or the compression"
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
        compression: String,
        clipNorm: Double?,
        roundTimeoutMillis: Int64,
        skellam: SkellamSettings? = nil
    ) -> SecureAggregationSettings? {
        guard secureAggregation else { return nil }
        let stage = secaggStageTimeoutMs ?? Int(max(50, min(600_000, roundTimeoutMillis / 5)))
        return SecureAggregationSettings(
            valueBits: valueBits(compression: compression),
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
            "--secure-aggregation", "--secagg-dropout-rate", "\(secaggDropoutRate)",
            "--secagg-corrupt-rate", "\(secaggCorruptRate)",
        ]
        if let secaggValueBits { arguments += ["--secagg-value-bits", "\(secaggValueBits)"] }
        if let secaggClip { arguments += ["--secagg-clip", "\(secaggClip)"] }
        if let secaggStageTimeoutMs { arguments += ["--secagg-stage-timeout-ms", "\(secaggStageTimeoutMs)"] }
        return arguments
    }
}
