import ArgumentParser

/// The one FedPulse executable: every role of the hierarchy is a subcommand, so a lab machine,
/// a container and the demo all run the same binary.
@main
struct FedPulse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedpulse",
        abstract: "Federated learning for wearable health data over ZeroMQ.",
        discussion: """
            Each role runs as its own process. `fedpulse demo` starts the whole hierarchy on \
            this machine; the other subcommands run one role each.
            """,
        subcommands: [Keygen.self]
    )
}
