import ArgumentParser
import Federation
import Foundation
import Learning
import Runtime

extension FedPulse {
    /// An edge process hosting one or more virtual devices.
    struct Edge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an edge worker process hosting --devices virtual devices of one class.",
            discussion: """
                Each virtual device has its own identity, local data and sockets: it checks in \
                with the coordinator, and when selected trains from the broadcast model and \
                PUSHes one update (its model delta, never its data) to its assigned shard. Under \
                DP a round lists each shard's population: every member samples itself with the \
                round's rate from the system CSPRNG and sends either its update (weight 1, no \
                metrics or norm) or a decline. A device whose training diverges skips the round \
                (fedpulse_updates_skipped_total{reason="diverged"}). Data is \
                synthetic (--task, --seed, users --first-user …) or one CSV file per device (--data).
                """
        )

        @Option(help: "Device class of every device in this process: watch, phone or tablet.")
        var deviceClass: String

        @Option(help: "Number of virtual devices to host (ignored with --data: one device per file).")
        var devices: Int = 1

        @Option(
            help: "Synthetic user index of the first device; the others follow. Keep ranges disjoint across processes."
        )
        var firstUser: Int = 0

        @Option(
            help:
                "Device ids are PREFIX-<user index> (default: the device class). {host} in PREFIX becomes this machine's host name and also offsets the synthetic users, for scaled container replicas."
        )
        var idPrefix: String?

        @Option(parsing: .singleValue, help: "A CSV export to use as one device's data (repeatable).")
        var data: [String] = []

        @Option(help: "Hold each update back this many milliseconds after training (a slow device).")
        var sendDelayMs: Int64 = 0

        @Option(help: "Check-in (heartbeat) interval in milliseconds.")
        var checkinMs: Int64 = 1_000

        @Option(
            help: ArgumentHelp(
                "Test/red-team knob: multiply each local delta by S before clipping (a poisoned device).",
                visibility: .hidden
            )
        )
        var poisonScale: Double = 1

        @OptionGroup var learning: LearningOptions
        @OptionGroup var dataSpec: DataSpecOptions
        @OptionGroup var coordinator: CoordinatorEndpoints
        @OptionGroup var common: CommonOptions
        @OptionGroup var security: SecurityOptions

        func validate() throws {
            guard DeviceClass(rawValue: deviceClass) != nil else {
                throw ValidationError("--device-class must be watch, phone or tablet")
            }
            guard devices >= 1 else { throw ValidationError("--devices must be at least 1") }
            guard firstUser >= 0, sendDelayMs >= 0, checkinMs >= 50 else {
                throw ValidationError("--first-user and --send-delay-ms must be ≥ 0, --checkin-ms ≥ 50")
            }
            guard poisonScale.isFinite, poisonScale >= 0 else {
                throw ValidationError("--poison-scale must be finite and ≥ 0")
            }
        }

        func run() async throws {
            guard let deviceClass = DeviceClass(rawValue: self.deviceClass) else {
                throw ValidationError("--device-class must be watch, phone or tablet")
            }
            // In a scaled container service every replica runs the same command line; "{host}"
            // gives each replica its own ids and its own synthetic users.
            let host = ProcessInfo.processInfo.hostName
            let replicated = idPrefix?.contains("{host}") ?? false
            let prefix = (idPrefix ?? deviceClass.rawValue).replacingOccurrences(of: "{host}", with: host)
            let firstUser =
                replicated ? self.firstUser + Int(CohortPlanner.stableHash(host) % 100_000) * devices : self.firstUser
            let generator = learning.generator()
            let virtualDevices: [VirtualDevice] =
                data.isEmpty
                ? (0..<devices).map { offset in
                    let user = firstUser + offset
                    return VirtualDevice(
                        id: "\(prefix)-\(user)",
                        deviceClass: deviceClass,
                        data: .synthetic(generator: generator, userIndex: user)
                    )
                }
                : data.enumerated().map { offset, path in
                    VirtualDevice(
                        id: "\(prefix)-\(firstUser + offset)",
                        deviceClass: deviceClass,
                        data: .csv(path: path)
                    )
                }
            var config = EdgeConfig(devices: virtualDevices, spec: try dataSpec.spec(learning: learning))
            config.coordinatorBroadcast = coordinator.coordinatorBroadcast
            config.coordinatorControl = coordinator.coordinatorControl
            config.sendDelayMillis = sendDelayMs
            config.checkinIntervalMillis = checkinMs
            config.poisonScale = poisonScale
            config.seed = learning.seed &+ UInt64(firstUser)
            config.security = try security.make()
            config.deviceKeys = security.deviceKeys
            let frozen = config
            try await common.run(role: "edge-\(prefix)", transport: frozen.security) { control, logger in
                try EdgeRole(config: frozen, logger: logger).run(control)
            }
        }
    }
}
