public import ArgumentParser
import Wire

/// The differential-privacy flags of the coordinator and the demo.
struct PrivacyOptions: ParsableArguments {
    @Option(
        help:
            "Noise placement: central, distributed, local, skellam (integer noise on the devices, needs --secure-aggregation) or off."
    )
    var dp: NoisePlacement = .off

    @Option(help: "L2 clip norm C of each update (also bounds a poisoned update when --dp off).")
    var clip: Double?

    @Option(help: "Noise multiplier z (noise std z·C on the sum).")
    var noiseMultiplier: Double?

    @Option(
        help: "Calibrate z once so that all --rounds spend at most this ε at --delta (instead of --noise-multiplier)."
    )
    var targetEpsilon: Double?

    @Option(help: "δ of the (ε, δ) guarantee.")
    var delta: Double = 1e-5

    @Option(help: "The auditor's events PULL endpoint (proposals, completions).")
    var auditorEvents: String?

    @Option(help: "The auditor's ledger PUB endpoint (verdicts).")
    var auditorLedger: String?

    @Option(help: "How many rounds one device may take part in (omit: no cap).")
    var participationCap: Int?

    @OptionGroup var skellam: SkellamOptions

    var placement: NoisePlacement { dp }

    func validate() throws {
        if placement == .skellam {
            guard let clip, clip > 0 else { throw ValidationError("--dp skellam needs --clip C > 0") }
            try skellam.validate(clipNorm: clip)
        } else if skellam.isGiven {
            throw ValidationError("--skellam-* options need --dp skellam")
        }
        if placement != .off {
            guard let clip, clip > 0 else { throw ValidationError("--dp \(dp) needs --clip C > 0") }
            guard placement == .skellam || (noiseMultiplier != nil) != (targetEpsilon != nil) else {
                throw ValidationError("--dp \(dp) needs exactly one of --noise-multiplier and --target-epsilon")
            }
            if let noiseMultiplier, noiseMultiplier < 0 { throw ValidationError("--noise-multiplier must be ≥ 0") }
            if let targetEpsilon, targetEpsilon <= 0 { throw ValidationError("--target-epsilon must be > 0") }
            guard auditorEvents != nil, auditorLedger != nil else {
                throw ValidationError(
                    "--dp \(dp) needs an auditor: --auditor-events and --auditor-ledger (no round runs unaccounted)"
                )
            }
        }
        if let clip, clip <= 0 { throw ValidationError("--clip must be > 0") }
        guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
        if let participationCap, participationCap < 1 {
            throw ValidationError("--participation-cap must be at least 1")
        }
        guard (auditorEvents == nil) == (auditorLedger == nil) else {
            throw ValidationError("give both --auditor-events and --auditor-ledger, or neither")
        }
    }

    /// Why `--dp skellam` cannot run, or nil: its integer noise protects a device only inside a
    /// secure-aggregated sum (a shard that sees one noisy update sees it with variance μ alone).
    /// The coordinator and the demo call this with their `--secure-aggregation` flag.
    func skellamProblem(secureAggregation: Bool) -> String? {
        guard placement == .skellam, !secureAggregation else { return nil }
        return "--dp skellam adds integer Skellam noise that protects a device only inside a secure-aggregated sum: "
            + "add --secure-aggregation (or use --dp central)"
    }

    var settings: PrivacySettings {
        PrivacySettings(placement: placement, clipNorm: clip, noiseMultiplier: noiseMultiplier ?? 0, expectedCohort: 1)
    }
}

/// `--dp` parses straight into the Wire enum: an unknown placement is a usage error, never a
/// silent `off`.
extension NoisePlacement: ExpressibleByArgument {}
