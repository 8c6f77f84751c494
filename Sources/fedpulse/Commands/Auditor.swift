import ArgumentParser
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
                --ledger-file it rebuilds its totals from the ledger, and refuses a broken chain.
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

        @Option(help: "Grid step of the PLD accountant (smaller: tighter and slower; always an upper bound). 0 turns PLD off.")
        var pldDiscretization: Double = 1e-4

        @OptionGroup var common: CommonOptions

        func validate() throws {
            guard epsilonBudget > 0 else { throw ValidationError("--epsilon-budget must be > 0") }
            guard delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1)") }
            guard pldDiscretization >= 0 else { throw ValidationError("--pld-discretization must be ≥ 0") }
            guard AuditorConfiguration.Enforcement(rawValue: accountant) != nil else {
                throw ValidationError("--accountant must be rdp, pld or tightest")
            }
        }

        func run() async throws {
            var config = AuditorConfig(ledgerPath: ledgerFile, epsilonBudget: epsilonBudget, delta: delta)
            config.eventsEndpoint = events
            config.ledgerEndpoint = ledger
            config.enforcement = AuditorConfiguration.Enforcement(rawValue: accountant) ?? .tightest
            config.pldDiscretization = pldDiscretization > 0 ? pldDiscretization : nil
            let frozen = config
            try await common.run(role: "auditor") { control, logger in
                try AuditorRole(config: frozen, logger: logger).run(control)
            }
        }
    }
}
