import ArgumentParser
import Runtime

extension FedPulse {
    /// A regional shard (one device class, optionally one shard of it) or the global aggregator.
    struct Aggregator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a regional aggregator shard (--tier region) or the global aggregator (--tier global).",
            discussion: """
                A regional shard binds a PULL socket for its members' updates, sums them streaming \
                and PUSHes one partial per round to the global aggregator. The global aggregator \
                combines the partials, adds central noise when configured, applies the server \
                optimizer and PUSHes the new model to the coordinator. Both announce themselves to \
                the coordinator and heartbeat, so the topology needs no configuration beyond where \
                the coordinator is.
                """
        )

        enum Tier: String, ExpressibleByArgument, CaseIterable { case region, global }

        @Option(help: "region or global.")
        var tier: Tier

        @Option(help: "Device class this regional shard serves: watch, phone or tablet.")
        var region: String?

        @Option(help: "Shard index within the region (0-based); several shards split a class's cohort.")
        var shard: Int = 0

        @Option(help: "Endpoint to bind the PULL socket (updates or partials); port * picks a free one.")
        var bind: String = "tcp://127.0.0.1:*"

        @Option(help: "Endpoint to announce to the coordinator, when peers must use another address than --bind.")
        var advertise: String?

        @Option(help: "A shard's secure-aggregation ROUTER bind endpoint (default: the --bind host, any port).")
        var secaggBind: String?

        @Option(help: "The ROUTER address devices connect to (default: the --advertise host with the bound port).")
        var secaggAdvertise: String?

        @OptionGroup var coordinator: CoordinatorEndpoints

        @Option(help: "Server optimizer of the global tier: fedavg, fedavgm, fedadam, fedyogi, fedadagrad.")
        var optimizer: String = "fedavg"

        @Option(
            help:
                "Server learning rate of the global tier (default: 1 for fedavg/fedavgm, 0.1 for the adaptive optimizers)."
        )
        var serverLearningRate: Float?

        @Option(help: "Milliseconds after the round deadline the global tier still waits for partials.")
        var graceMs: Int64 = 1_000

        @Option(help: "Heartbeat interval to the coordinator in milliseconds.")
        var heartbeatMs: Int = 500

        @Option(
            help:
                "Largest update message a regional shard accepts, in bytes (ZMQ_MAXMSGSIZE per frame and the decoder's total)."
        )
        var maxMessageBytes: Int?

        @Option(
            help:
                "Bytes of messages for a round not yet announced (updates at a shard, partials at the global tier) kept at most; past it they are refused bufferFull."
        )
        var earlyBufferBytes: Int = 64 << 20

        @OptionGroup var common: CommonOptions
        @OptionGroup var security: SecurityOptions

        func validate() throws {
            if tier == .region {
                guard let region, ["watch", "phone", "tablet"].contains(region) else {
                    throw ValidationError("--tier region needs --region watch, phone or tablet")
                }
                guard shard >= 0 else { throw ValidationError("--shard must be 0 or more") }
            }
            if let maxMessageBytes, maxMessageBytes < 4_096 {
                throw ValidationError("--max-message-bytes must be at least 4096")
            }
            guard earlyBufferBytes >= 0 else { throw ValidationError("--early-buffer-bytes must be 0 or more") }
            guard ["fedavg", "fedavgm", "fedadam", "fedyogi", "fedadagrad"].contains(optimizer) else {
                throw ValidationError("--optimizer must be one of fedavg, fedavgm, fedadam, fedyogi, fedadagrad")
            }
        }

        func run() async throws {
            switch tier {
            case .region:
                var config = RegionalAggregatorConfig(region: region ?? "watch", shard: shard)
                config.bindEndpoint = bind
                config.advertisedEndpoint = advertise
                config.secureAggregationBind = secaggBind
                config.secureAggregationAdvertised = secaggAdvertise
                config.coordinatorBroadcast = coordinator.coordinatorBroadcast
                config.coordinatorControl = coordinator.coordinatorControl
                config.heartbeatMillis = heartbeatMs
                if let maxMessageBytes { config.maxMessageBytes = maxMessageBytes }
                config.earlyBufferBytes = earlyBufferBytes
                config.security = try security.make()
                let frozen = config
                try await common.run(role: "region-\(frozen.region)-\(frozen.shard)", transport: frozen.security) {
                    control,
                    logger in
                    try RegionalAggregatorRole(config: frozen, logger: logger).run(control)
                }
            case .global:
                var config = GlobalAggregatorConfig()
                config.bindEndpoint = bind
                config.advertisedEndpoint = advertise
                config.coordinatorBroadcast = coordinator.coordinatorBroadcast
                config.coordinatorControl = coordinator.coordinatorControl
                config.serverOptimizer = optimizer
                config.serverLearningRate = serverLearningRate
                config.graceMillis = graceMs
                config.heartbeatMillis = heartbeatMs
                config.earlyBufferBytes = earlyBufferBytes
                config.security = try security.make()
                let frozen = config
                try await common.run(role: "global", transport: frozen.security) { control, logger in
                    try GlobalAggregatorRole(config: frozen, logger: logger).run(control)
                }
            }
        }
    }
}
