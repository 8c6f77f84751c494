import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import Runtime
import ServiceLifecycle
import UnixSignals
import ZeroMQ

/// Flags every long-running role shares: logging and the Prometheus endpoint.
struct CommonOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (0 picks a free port; omit to disable).")
    var metricsPort: Int?

    @Option(help: "Interface the metrics endpoint binds.")
    var metricsHost: String = "127.0.0.1"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// Bootstraps logging and metrics once for this process and runs `role` until it ends or
    /// SIGINT/SIGTERM asks it to stop gracefully.
    func run(
        role name: String,
        transport: TransportSecurity? = nil,
        body: @escaping @Sendable (LoopControl, Logger) throws -> Void
    ) async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var labelled = Logger(label: "fedpulse.\(name)")
        // Every line of a role says whether its transport is secured.
        if let transport { labelled[metadataKey: "transport"] = "\(transport.label)" }
        let logger = labelled
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var endpoint: MetricsEndpoint?
        if let metricsPort {
            let server = try MetricsEndpoint(registry: registry, host: metricsHost, port: metricsPort)
            server.start()
            logger.info(
                "metrics endpoint ready",
                metadata: ["metrics.url": "http://\(metricsHost):\(server.port)/metrics"]
            )
            endpoint = server
        }
        defer { endpoint?.stop() }
        let service = RoleService(name: name) { control in try body(control, logger) }
        // A role that ends by itself (the run is over) is a success, not a crash.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

/// Where the coordinator is, as every other role connects to it.
struct CoordinatorEndpoints: ParsableArguments {
    @Option(help: "The coordinator's broadcast PUB endpoint.")
    var coordinatorBroadcast: String = "tcp://127.0.0.1:7001"

    @Option(help: "The coordinator's control PULL endpoint.")
    var coordinatorControl: String = "tcp://127.0.0.1:7002"
}

/// Transport security flags every role shares (DESIGN.md §5): CURVE on every socket with the
/// enrolment file as allowlist, or none at all, said on every log line.
struct SecurityOptions: ParsableArguments {
    @Option(
        help:
            "This process's CURVE secret key file (Z85, from `fedpulse keygen --out DIR --name NAME`); on an edge, its edge key (enrolled as edge:<class>)."
    )
    var curveSecretKey: String?

    @Option(
        help: "The enrolment file (`name role public-key` per line): who may connect, and the servers' public keys."
    )
    var enrolment: String?

    @Option(
        help: "Edge only: per-device keys instead of an edge key: the folder holding each device's <device id>.key."
    )
    var curveKeyDir: String?

    @Flag(
        help:
            "Run without transport security: nothing is encrypted or authenticated (every log line says transport=insecure)."
    )
    var insecure = false

    func validate() throws {
        let keyGiven = curveSecretKey != nil || curveKeyDir != nil
        if insecure && (keyGiven || enrolment != nil) {
            throw ValidationError("--insecure contradicts --curve-secret-key/--curve-key-dir/--enrolment")
        }
        if curveSecretKey != nil && curveKeyDir != nil {
            throw ValidationError(
                "--curve-secret-key and --curve-key-dir exclude each other (an edge key, or a key per device)"
            )
        }
        if keyGiven != (enrolment != nil) {
            throw ValidationError(
                "CURVE needs --enrolment and a key (--curve-secret-key, or --curve-key-dir for an edge)"
            )
        }
    }

    /// The transport security this process runs with (no keys: insecure, said on every log line).
    func make() throws -> TransportSecurity {
        guard let enrolment else { return .insecure }
        if let curveSecretKey {
            return try TransportSecurity.curve(secretKeyFile: curveSecretKey, enrolmentFile: enrolment)
        }
        // An edge proves each device with that device's key; the process itself binds nothing.
        let placeholder = try CurveKeyPair.generate()
        return try TransportSecurity(mode: .curve(keys: placeholder, enrolmentPath: enrolment))
    }

    /// The devices' key folder of an edge.
    var deviceKeys: KeyDirectory? { curveKeyDir.map(KeyDirectory.init(path:)) }
}
