import ArgumentParser
import Foundation
import Privacy
import Runtime

extension FedPulse {
    /// The privacy auditor role.
    struct Auditor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the privacy auditor: approve rounds against the ε budget and keep the hash-chained ledger.",
            discussion: """
                Binds the events PULL (round.proposal, round.completed, audit.event) and the ledger \
                PUB (round.verdict, ledger.entry). Every proposal is answered approve or deny with \
                the ε the round would bring the run to; a round counts as spent at approval, and \
                each ledger line is fsynced before its verdict is sent. Restarted with the same \
                --ledger-file it rebuilds its totals from the ledger, and refuses a broken chain or \
                signatures that are not its key's. Only --coordinator-id may propose or complete \
                rounds; only its next round id is approved, and only inside the policy flags. Every \
                entry is signed with the Ed25519 key in --signing-key (created, mode 0600, when \
                missing; its public key is written to FILE.pub for `fedpulse audit verify --public-key`).
                """
        )

        @Option(help: "Endpoint the events PULL socket binds.")
        var events: String = "tcp://127.0.0.1:7300"

        @Option(help: "Endpoint the ledger PUB socket binds.")
        var ledger: String = "tcp://127.0.0.1:7301"

        @Option(help: "The append-only ledger (JSON lines).")
        var ledgerFile: String = "ledger.jsonl"

        @Option(help: "Total ε the run may spend.")
        var epsilonBudget: Double = 8

        @Option(help: "δ of the (ε, δ) guarantee.")
        var delta: Double = 1e-5

        @Option(help: "Which accountant enforces the budget: rdp, pld or tightest.")
        var accountant: String = "tightest"

        @Option(
            help:
                "Grid step of the PLD accountant (smaller: tighter and slower; always an upper bound). 0 turns PLD off."
        )
        var pldDiscretization: Double = 1e-4

        @Option(help: "The only sender whose round.proposal and round.completed count.")
        var coordinatorId: String = "coordinator"

        @Option(
            help:
                "Ed25519 key that signs every ledger entry (default: LEDGER-FILE.key); created with mode 0600 if missing, public key in FILE.pub."
        )
        var signingKey: String?

        @Option(help: "Policy: the largest sampling rate q a round may have.")
        var maxSamplingRate: Double = AuditorPolicy.standard.maxSamplingRate

        @Option(
            help:
                "Policy: the smallest noise multiplier z a round may have (skellam: the equivalent z √((n_min − 1)·μ)/Δ2)."
        )
        var minNoiseMultiplier: Double = AuditorPolicy.standard.minNoiseMultiplier

        @Option(help: "Policy: the largest clip norm C a round may have.")
        var maxClipNorm: Double = AuditorPolicy.standard.maxClipNorm

        @Option(
            help:
                "Policy: the noise placements that may run, comma-separated (central, distributed, local, skellam, off); a skellam completion must carry every shard's secure-aggregation record."
        )
        var placements: String = "central,distributed,local,skellam"

        @Option(help: "Policy: the largest expected cohort m a round may have.")
        var maxExpectedCohort: Double = AuditorPolicy.standard.maxExpectedCohort

        @Option(help: "Policy: how far past the last recorded round id a proposal may jump.")
        var maxRoundGap: Int = AuditorPolicy.standard.maxRoundGap

        @Option(
            help:
                "Policy: the smallest minimumSurvivors a skellam round may name (a margin against devices colluding with a shard)."
        )
        var minSurvivors: Int = AuditorPolicy.standard.minSurvivors

        @OptionGroup var common: CommonOptions
        @OptionGroup var security: SecurityOptions

        func validate() throws {
            guard epsilonBudget > 0 else { throw ValidationError("--epsilon-budget must be > 0") }
            guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
            guard pldDiscretization >= 0 else { throw ValidationError("--pld-discretization must be ≥ 0") }
            guard AuditorConfiguration.Enforcement(rawValue: accountant) != nil else {
                throw ValidationError("--accountant must be rdp, pld or tightest")
            }
            guard maxSamplingRate > 0, maxSamplingRate <= 1 else {
                throw ValidationError("--max-sampling-rate must be in (0, 1]")
            }
            guard minNoiseMultiplier >= 0, minNoiseMultiplier.isFinite else {
                throw ValidationError("--min-noise-multiplier must be ≥ 0")
            }
            guard minSurvivors >= 2 else { throw ValidationError("--min-survivors must be at least 2") }
            guard maxClipNorm > 0, maxExpectedCohort >= 1, maxRoundGap >= 1 else {
                throw ValidationError(
                    "--max-clip-norm must be > 0, --max-expected-cohort and --max-round-gap at least 1"
                )
            }
            _ = try parsedPlacements()
        }

        /// `--placements` as a set; an unknown name is a usage error, never a silent default.
        func parsedPlacements() throws -> Set<NoisePlacement> {
            var result = Set<NoisePlacement>()
            for name in placements.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let placement = NoisePlacement(rawValue: name) else {
                    throw ValidationError("--placements: \(name) is not central, distributed, local, skellam or off")
                }
                result.insert(placement)
            }
            guard !result.isEmpty else { throw ValidationError("--placements names no placement") }
            return result
        }

        func run() async throws {
            var config = AuditorConfig(ledgerPath: ledgerFile, epsilonBudget: epsilonBudget, delta: delta)
            config.eventsEndpoint = events
            config.ledgerEndpoint = ledger
            guard let enforcement = AuditorConfiguration.Enforcement(rawValue: accountant) else {
                throw ValidationError("--accountant must be rdp, pld or tightest")
            }
            config.enforcement = enforcement
            config.pldDiscretization = pldDiscretization > 0 ? pldDiscretization : nil
            config.coordinatorID = coordinatorId
            config.signingKeyPath = signingKey
            config.policy = AuditorPolicy(
                maxSamplingRate: maxSamplingRate,
                minNoiseMultiplier: minNoiseMultiplier,
                maxClipNorm: maxClipNorm,
                placements: try parsedPlacements(),
                maxExpectedCohort: maxExpectedCohort,
                maxRoundGap: maxRoundGap,
                minSurvivors: minSurvivors
            )
            config.security = try security.make()
            let frozen = config
            try await common.run(role: "auditor", transport: frozen.security) { control, logger in
                try AuditorRole(config: frozen, logger: logger).run(control)
            }
        }
    }
}
