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
                Each virtual device has its own identity and local data: it checks in \
                with the coordinator, and when selected trains from the broadcast model and \
                PUSHes one update (its model delta, never its data) to its assigned shard. Under \
                DP a round lists each shard's population: every member samples itself with the \
                round's rate from the system CSPRNG and sends either its update (weight 1, no \
                metrics or norm) or a decline. A device whose training diverges skips the round \
                (fedpulse_updates_skipped_total{reason="diverged"}). Data is \
                synthetic (--task, --seed, users --first-user …) or one CSV file per device (--data). \
                With an edge key (--curve-secret-key, enrolled as edge:<class> under name E) all \
                devices share one SUB, one control PUSH and one PUSH per shard, and their ids \
                must start with E/ (default prefix E/<class>); with --curve-key-dir each device \
                has its own key and sockets.
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
                "Device ids are PREFIX-<user index> (default: the device class; with an edge key E, E/<class>, and PREFIX must start with E/). {replica} in PREFIX becomes this replica's own id (see --replica-file), {host} the host name; either also offsets the synthetic users, for scaled container replicas."
        )
        var idPrefix: String?

        @Option(help: "Where {replica} in --id-prefix keeps this replica's id: made once, the same after a restart.")
        var replicaFile: String = "/var/lib/fedpulse/replica-id"

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
            // With host networking all replicas share the host name; {replica} differs on any network.
            let host = ProcessInfo.processInfo.hostName
            var random = SystemRandomNumberGenerator()
            var replica = ""
            if idPrefix?.contains("{replica}") == true {
                replica = try ReplicaIdentity.token(file: replicaFile, using: &random)
            }
            let replicated = idPrefix.map { $0.contains("{host}") || $0.contains("{replica}") } ?? false
            let transport = try security.make()
            let edgeName = try Self.edgeName(of: transport, security: security, deviceClass: deviceClass)
            let defaultPrefix = edgeName.map { "\($0)/\(deviceClass.rawValue)" } ?? deviceClass.rawValue
            let prefix = (idPrefix ?? defaultPrefix).replacingOccurrences(of: "{host}", with: host)
                .replacingOccurrences(of: "{replica}", with: replica)
            if let edgeName, !prefix.hasPrefix(edgeName + "/") {
                throw ValidationError(
                    "--id-prefix \(prefix) must start with \(edgeName)/: the edge key \(edgeName) speaks only for devices \(edgeName)/…"
                )
            }
            let firstUser =
                replicated ? self.firstUser + Int(CohortPlanner.stableHash(prefix) % 100_000) * devices : self.firstUser
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
            config.security = transport
            config.deviceKeys = security.deviceKeys
            config.edgeName = edgeName
            let frozen = config
            try await common.run(role: "edge-\(prefix)", transport: frozen.security) { control, logger in
                try EdgeRole(config: frozen, logger: logger).run(control)
            }
        }

        /// The enrolled name `E` of an edge key (`--curve-secret-key` on an edge), checked to be
        /// enrolled as `edge:<this class>`; nil with per-device keys or without CURVE.
        static func edgeName(
            of transport: TransportSecurity,
            security: SecurityOptions,
            deviceClass: DeviceClass
        ) throws -> String? {
            guard let keyFile = security.curveSecretKey else { return nil }
            guard security.curveKeyDir == nil else {
                throw ValidationError(
                    "an edge takes an edge key (--curve-secret-key) or per-device keys (--curve-key-dir), not both"
                )
            }
            guard let entry = transport.ownEntry else {
                throw ValidationError(
                    "the key in \(keyFile) is not in the enrolment file (enrol it with --role edge:\(deviceClass.rawValue))"
                )
            }
            guard entry.role == "edge:\(deviceClass.rawValue)" else {
                throw ValidationError(
                    "the key in \(keyFile) is enrolled as \(entry.name) with role \(entry.role), not edge:\(deviceClass.rawValue)"
                )
            }
            return entry.name
        }
    }
}
