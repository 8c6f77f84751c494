import ArgumentParser
import Foundation

/// The one FedPulse executable: every role of the hierarchy is a subcommand, so a lab machine,
/// a container and the demo all run the same binary.
@main
struct FedPulse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedpulse",
        abstract: "Federated learning for wearable health data over ZeroMQ.",
        discussion: """
            Each role runs as its own process. `fedpulse demo` starts the whole hierarchy on \
            this machine; the other subcommands run one role each. Any flag may also be given as \
            an environment variable: FEDPULSE_ROUNDS=20 acts as --rounds 20.
            """,
        subcommands: [Demo.self, Coordinator.self, Aggregator.self, Edge.self, Auditor.self, Audit.self, PrivacyCalculator.self, ExportSynthetic.self, Keygen.self, Lab.self]
    )

    static func main() async {
        let arguments = EnvironmentDefaults.apply(
            to: Array(CommandLine.arguments.dropFirst()),
            environment: ProcessInfo.processInfo.environment
        ) { name in
            configuration.subcommands.first { $0._commandName == name }.map { $0.helpMessage(columns: 10_000) }
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
