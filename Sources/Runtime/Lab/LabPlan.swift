import Foundation

/// What runs where: every process of a lab topology with its full command line, the endpoints
/// it binds and connects to, and the key files it needs.
///
/// Pure (no ssh, no files): `lab plan` prints it, `lab up|status|down` act on it, and a test
/// checks it without any machine. Ports follow DESIGN.md §1 on each host; when a host runs two
/// shards, or several processes serve metrics, each takes the next port, so nothing collides.
public struct LabPlan: Sendable, Equatable, Codable {
    public struct Process: Sendable, Equatable, Codable {
        /// Unique in the lab: its log and pid file names (`auditor`, `region-watch-0`, `edge-watch-1`).
        public var name: String
        public var host: String
        /// The fedpulse arguments (subcommand first).
        public var arguments: [String]
        /// What it binds, by purpose (`events`, `broadcast`, `updates`, `metrics`, …).
        public var binds: [String: String]
        /// The endpoints it connects to itself (the coordinator and auditor; shards and edges
        /// learn the rest from the coordinator's announcements).
        public var connects: [String]
        /// The key files it reads (names in the key folder); empty when insecure.
        public var keys: [String]
        /// The ids of the devices an edge hosts (`edge-watch-0/watch-20`, …); empty for the rest.
        public var devices: [String] = []
    }

    public struct Host: Sendable, Equatable, Codable {
        public var name: String
        public var address: String
        /// `user@address` (or just the address), as ssh takes it.
        public var sshDestination: String
        /// Options before the destination: `-i KEY`, `-p PORT`.
        public var sshOptions: [String]
        public var processes: [Process]
    }

    /// A party of the run's enrolment file: who may connect, in which role.
    public struct Party: Sendable, Equatable, Codable {
        public var name: String
        public var role: String
    }

    public var name: String
    public var binary: String
    public var workdir: String
    public var curve: Bool
    public var hosts: [Host]
    public var parties: [Party]
    /// The auditor's ledger PUB, for `fedpulse audit tail --connect` from the operator's machine.
    public var ledgerEndpoint: String?

    /// The enrolled name of the operator's `audit tail`.
    public static let observerName = "lab-observer"

    public var processes: [Process] { hosts.flatMap(\.processes) }

    public init(_ topology: LabTopology) {
        name = topology.name
        binary = topology.binary ?? "fedpulse"
        workdir = topology.workdir ?? "/tmp/fedpulse-lab/\(topology.name)"
        curve = (topology.transport ?? "curve") == "curve"
        let addresses = Dictionary(topology.hosts.map { ($0.name, $0.address) }) { first, _ in first }
        func address(_ host: String) -> String { addresses[host] ?? host }
        let roles = topology.roles
        let keyFolder = workdir + "/keys"
        var builder = Builder(curve: curve, keyFolder: keyFolder)

        var auditorLinks: [String] = []
        if let auditor = roles.auditor {
            let host = address(auditor.host)
            let events = "tcp://\(host):7300"
            let ledger = "tcp://\(host):7301"
            ledgerEndpoint = ledger
            auditorLinks = ["--auditor-events", events, "--auditor-ledger", ledger]
            builder.add(
                name: "auditor",
                host: auditor.host,
                address: host,
                role: "auditor",
                arguments: [
                    "auditor", "--events", events, "--ledger", ledger, "--ledger-file", workdir + "/ledger.jsonl",
                    "--signing-key", keyFolder + "/auditor-signing.key",
                    "--epsilon-budget", "\(auditor.epsilonBudget ?? 8)", "--delta", "\(auditor.delta ?? 1e-5)",
                ],
                binds: ["events": events, "ledger": ledger],
                connects: [],
                extra: auditor.args
            )
        } else {
            ledgerEndpoint = nil
        }
        let coordinatorHost = address(roles.coordinator.host)
        let broadcast = "tcp://\(coordinatorHost):7001"
        let control = "tcp://\(coordinatorHost):7002"
        builder.add(
            name: "coordinator",
            host: roles.coordinator.host,
            address: coordinatorHost,
            role: "coordinator",
            arguments: [
                "coordinator", "--broadcast", broadcast, "--control", control, "--state-dir", workdir + "/state",
            ] + auditorLinks,
            binds: ["broadcast": broadcast, "control": control],
            connects: auditorLinks.enumerated().filter { $0.offset % 2 == 1 }.map(\.element),
            extra: roles.coordinator.args
        )
        let coordinatorLinks = ["--coordinator-broadcast", broadcast, "--coordinator-control", control]
        let globalHost = address(roles.global.host)
        let partials = "tcp://\(globalHost):7200"
        builder.add(
            name: "global",
            host: roles.global.host,
            address: globalHost,
            role: "global",
            arguments: ["aggregator", "--tier", "global", "--bind", partials] + coordinatorLinks,
            binds: ["partials": partials],
            connects: [broadcast, control],
            extra: roles.global.args
        )
        var shardsPerClass: [String: Int] = [:]
        for shard in roles.shards {
            let index = shardsPerClass[shard.class, default: 0]
            shardsPerClass[shard.class] = index + 1
            let host = address(shard.host)
            let updates = "tcp://\(host):\(builder.nextPort(on: shard.host, from: 7100))"
            builder.add(
                name: "region-\(shard.class)-\(index)",
                host: shard.host,
                address: host,
                role: "shard:\(shard.class)",
                arguments: [
                    "aggregator", "--tier", "region", "--region", shard.class, "--shard", "\(index)", "--bind", updates,
                ]
                    + coordinatorLinks,
                binds: ["updates": updates],
                connects: [broadcast, control],
                extra: shard.args
            )
        }
        var edgesPerClass: [String: Int] = [:]
        var nextUser: [String: Int] = [:]
        for edge in roles.edges {
            let index = edgesPerClass[edge.class, default: 0]
            edgesPerClass[edge.class] = index + 1
            let first = edge.firstUser ?? nextUser[edge.class, default: 0]
            nextUser[edge.class] = max(nextUser[edge.class, default: 0], first + edge.devices)
            let name = "edge-\(edge.class)-\(index)"
            // Under the edge's own key name, CURVE or not, so ids do not change with the transport.
            let prefix = "\(name)/\(edge.class)"
            builder.addEdge(
                name: name,
                host: edge.host,
                address: address(edge.host),
                devices: (first..<(first + edge.devices)).map { "\(prefix)-\($0)" },
                deviceClass: edge.class,
                arguments: [
                    "edge", "--device-class", edge.class, "--devices", "\(edge.devices)", "--first-user", "\(first)",
                    "--id-prefix", prefix,
                ]
                    + coordinatorLinks,
                connects: [broadcast, control],
                extra: edge.args
            )
        }
        if curve { builder.parties.append(Party(name: Self.observerName, role: "observer")) }
        parties = builder.parties
        hosts = topology.hosts.map { host in
            var options: [String] = ["-o", "BatchMode=yes"] + (topology.ssh ?? [])
            if let key = host.key { options += ["-i", key] }
            if let port = host.sshPort { options += ["-p", "\(port)"] }
            return Host(
                name: host.name,
                address: host.address,
                sshDestination: host.user.map { "\($0)@\(host.address)" } ?? host.address,
                sshOptions: options,
                processes: builder.processes.filter { $0.host == host.name }
            )
        }
    }

    /// Accumulates processes, per-host ports and the enrolment's parties while the plan is built.
    private struct Builder {
        let curve: Bool
        let keyFolder: String
        var processes: [Process] = []
        var parties: [Party] = []
        private var usedPorts: [String: Set<Int>] = [:]

        init(curve: Bool, keyFolder: String) {
            self.curve = curve
            self.keyFolder = keyFolder
        }

        /// The first port from `base` not yet used on `host` (the fixed role ports count as used).
        mutating func nextPort(on host: String, from base: Int) -> Int {
            var port = base
            while usedPorts[host, default: []].contains(port) { port += 1 }
            usedPorts[host, default: []].insert(port)
            return port
        }

        mutating func add(
            name: String,
            host: String,
            address: String,
            role: String,
            arguments: [String],
            binds: [String: String],
            connects: [String],
            extra: [String]?
        ) {
            let security =
                curve
                ? ["--curve-secret-key", "\(keyFolder)/\(name).key", "--enrolment", "\(keyFolder)/enrolment.txt"]
                : ["--insecure"]
            if curve { parties.append(Party(name: name, role: role)) }
            append(
                name: name,
                host: host,
                address: address,
                arguments: arguments + security,
                binds: binds,
                connects: connects,
                keys: curve ? [name] : [],
                extra: extra
            )
        }

        mutating func addEdge(
            name: String,
            host: String,
            address: String,
            devices: [String],
            deviceClass: String,
            arguments: [String],
            connects: [String],
            extra: [String]?
        ) {
            // One edge key per edge process (role edge:<class>), speaking for the ids under its
            // name: the process shares one socket per peer among its devices (issue 13 §5).
            let security =
                curve
                ? ["--curve-secret-key", "\(keyFolder)/\(name).key", "--enrolment", "\(keyFolder)/enrolment.txt"]
                : ["--insecure"]
            if curve { parties.append(Party(name: name, role: "edge:\(deviceClass)")) }
            append(
                name: name,
                host: host,
                address: address,
                arguments: arguments + security,
                binds: [:],
                connects: connects,
                keys: curve ? [name] : [],
                devices: devices,
                extra: extra
            )
        }

        private mutating func append(
            name: String,
            host: String,
            address: String,
            arguments: [String],
            binds: [String: String],
            connects: [String],
            keys: [String],
            devices: [String] = [],
            extra: [String]?
        ) {
            for endpoint in binds.values {
                if let port = endpoint.split(separator: ":").last.flatMap({ Int($0) }) {
                    usedPorts[host, default: []].insert(port)
                }
            }
            let metricsPort = nextPort(on: host, from: 9100)
            var binds = binds
            binds["metrics"] = "http://\(address):\(metricsPort)/metrics"
            processes.append(
                Process(
                    name: name,
                    host: host,
                    arguments: arguments + ["--metrics-port", "\(metricsPort)", "--metrics-host", address]
                        + (extra ?? []),
                    binds: binds,
                    connects: connects,
                    keys: keys,
                    devices: devices
                )
            )
        }
    }
}
