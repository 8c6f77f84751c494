import FedPulseTestSupport
import Foundation
import Testing

/// `docker-compose.yml` and `deploy/Dockerfile` describe a deployment that can actually start:
/// every service runs a real `fedpulse` subcommand with flags that subcommand has.
///
/// There is no Docker engine on the test machine, so this is a static check against the built
/// binary's own `--help`; it starts no process beyond `fedpulse <subcommand> --help`. Three
/// minutes: beside the whole suite on two cores those runs took 80 s in one CI run.
@Suite(.timeLimit(.minutes(3)))
struct ComposeFileTests {
    let root = FedPulseBinary.repositoryRoot()

    /// The compose file as JSON.
    func composeDocument() async throws -> [String: Any] {
        let documents = try await YAMLDocuments.load(root.appendingPathComponent("docker-compose.yml"))
        return try #require(documents.first as? [String: Any])
    }

    /// The services that run the fedpulse image (the monitoring profile adds Prometheus and Grafana).
    func fedpulseServices() async throws -> [String: [String: Any]] {
        let document = try await composeDocument()
        let services = try #require(document["services"] as? [String: [String: Any]])
        return services.filter { $0.value["image"] as? String == "fedpulse:latest" }
    }

    /// A service's command as an argument list (compose also allows one shell-style string).
    static func command(of service: [String: Any]) -> [String]? {
        if let list = service["command"] as? [String] { return list }
        if let text = service["command"] as? String { return text.split(separator: " ").map(String.init) }
        return nil
    }

    @Test func deployFilesExistAndTheImageRunsFedpulse() throws {
        let dockerfile = try String(contentsOf: root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("docker-compose.yml").path))
        #expect(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/fedpulse\"]"))
        #expect(dockerfile.contains("--product fedpulse"))
    }

    @Test func everyServiceRunsARealSubcommandWithFlagsItHas() async throws {
        let services = try await fedpulseServices()
        #expect(services.count >= 9)
        var commandLines = try DeploymentCommandLines()
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            let command = try #require(Self.command(of: service), "service \(name) has no command")
            try await commandLines.check(command, in: "service \(name)")
        }
    }

    @Test func environmentVariablesNameFlagsOfTheServicesThatGetThem() async throws {
        let services = try await fedpulseServices()
        var commandLines = try DeploymentCommandLines()
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            guard let environment = service["environment"] as? [String: Any],
                let subcommand = Self.command(of: service)?.first,
                // The shared x-fedpulse block gives the coordinator its own endpoints' variables too; it ignores them.
                subcommand != "coordinator"
            else { continue }
            try await commandLines.checkEnvironment(environment.keys, of: subcommand, in: "service \(name)")
        }
    }

    @Test func edgeServicesExistPerClassAndCanBeScaled() async throws {
        let document = try await composeDocument()
        let services = try #require(document["services"] as? [String: [String: Any]])
        for deviceClass in ["watch", "phone", "tablet"] {
            let service = try #require(services["edge-\(deviceClass)"], "no edge-\(deviceClass) service")
            let command = try #require(Self.command(of: service))
            #expect(command.first == "edge")
            let classIndex = try #require(command.firstIndex(of: "--device-class"))
            #expect(command.indices.contains(classIndex + 1) && command[classIndex + 1] == deviceClass)
            // `docker compose up --scale` fails for a service with a fixed container name or host port.
            #expect(service["container_name"] == nil, "edge-\(deviceClass) has a container_name and cannot scale")
            #expect(service["ports"] == nil, "edge-\(deviceClass) publishes host ports and cannot scale")
        }
        for role in ["coordinator", "aggregator-global", "aggregator-watch", "aggregator-phone", "aggregator-tablet"] {
            #expect(services[role] != nil, "no \(role) service")
        }
    }

    @Test func dockerfileCopiesEverythingThePackageManifestNeeds() throws {
        let dockerfile = try String(contentsOf: root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        let copied = dockerfile.split(separator: "\n").filter { $0.hasPrefix("COPY ") && !$0.contains("--from=") }
            .joined(separator: "\n")
        #expect(copied.contains("Package.swift") && copied.contains("Sources"))
        // SwiftPM refuses a manifest whose targets' folders are missing, test targets included.
        #expect(copied.contains("Tests"))
    }

    /// The monitoring profile's Prometheus scrapes every fedpulse service at the port it serves
    /// metrics on, and the files it and Grafana mount exist.
    @Test func theMonitoringProfileScrapesEveryRoleAtItsMetricsPort() async throws {
        let document = try await composeDocument()
        let services = try #require(document["services"] as? [String: [String: Any]])
        for name in ["prometheus", "grafana"] {
            let service = try #require(services[name], "no \(name) service")
            #expect((service["profiles"] as? [String]) == ["monitoring"], "\(name) is not in the monitoring profile")
            for volume in (service["volumes"] as? [String]) ?? [] where volume.hasPrefix("./") {
                let hostPath = String(volume.dropFirst(2).split(separator: ":")[0])
                #expect(
                    FileManager.default.fileExists(atPath: root.appendingPathComponent(hostPath).path),
                    "\(name) mounts missing \(hostPath)"
                )
            }
        }
        let config = try await YAMLDocuments.load(root.appendingPathComponent("deploy/monitoring/prometheus.yml"))
        let jobs = try #require((config.first as? [String: Any])?["scrape_configs"] as? [[String: Any]])
        var scraped: Set<String> = []
        for job in jobs {
            for group in (job["static_configs"] as? [[String: Any]]) ?? [] {
                scraped.formUnion((group["targets"] as? [String]) ?? [])
            }
            for discovery in (job["dns_sd_configs"] as? [[String: Any]]) ?? [] {
                let port = discovery["port"] as? Int ?? 0
                scraped.formUnion(((discovery["names"] as? [String]) ?? []).map { "\($0):\(port)" })
            }
        }
        for (name, service) in try await fedpulseServices().sorted(by: { $0.key < $1.key }) {
            let command = Self.command(of: service) ?? []
            let index = try #require(command.firstIndex(of: "--metrics-port"), "service \(name) serves no metrics")
            let port = command.indices.contains(index + 1) ? command[index + 1] : "?"
            #expect(
                scraped.contains("\(name):\(port)"),
                "Prometheus does not scrape \(name):\(port): \(scraped.sorted())"
            )
        }
    }

    /// deploy/compose-host.yml (host networking, run by ComposePodmanTests) has the same roles,
    /// real command lines, and no two services on one port of the shared host network.
    @Test func theHostNetworkingFileRunsTheSameRolesOnPortsOfTheirOwn() async throws {
        let documents = try await YAMLDocuments.load(root.appendingPathComponent("deploy/compose-host.yml"))
        let services = try #require((documents.first as? [String: Any])?["services"] as? [String: [String: Any]])
        #expect(Set(services.keys) == Set(try await fedpulseServices().keys))
        var commandLines = try DeploymentCommandLines()
        var owners: [String: String] = [:]
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            #expect(service["network_mode"] as? String == "host", "\(name) is not on host networking")
            let command = try #require(Self.command(of: service), "service \(name) has no command")
            try await commandLines.check(command, in: "compose-host \(name)")
            #expect(
                !name.hasPrefix("edge-") || !command.contains("--metrics-port"),
                "scaled \(name) would share a port"
            )
            #expect(
                !name.hasPrefix("edge-") || command.contains { $0.contains("{replica}") },
                "\(name) replicas would share ids"
            )
            for (index, flag) in command.enumerated()
            where ["--bind", "--events", "--ledger", "--broadcast", "--control", "--metrics-port"].contains(flag) {
                let value = command.indices.contains(index + 1) ? command[index + 1] : ""
                let port = String(value.split(separator: ":").last ?? "")
                #expect(owners[port] == nil, "\(name) and \(owners[port] ?? "") both use port \(port)")
                owners[port] = name
            }
        }
    }

    /// The key and enrolment a party's command line must carry: its enrolled name and role.
    static func party(of command: [String]) -> (name: String, role: String)? {
        func value(_ flag: String) -> String? {
            command.firstIndex(of: flag).flatMap { command.indices.contains($0 + 1) ? command[$0 + 1] : nil }
        }
        switch command.first {
        case "coordinator": return ("coordinator", "coordinator")
        case "auditor": return ("auditor", "auditor")
        case "aggregator" where value("--tier") == "global": return ("global", "global")
        case "aggregator":
            guard let region = value("--region"), let shard = value("--shard") else { return nil }
            return ("region-\(region)-\(shard)", "shard:\(region)")
        case "edge":
            guard let deviceClass = value("--device-class") else { return nil }
            return ("edge-\(deviceClass)", "edge:\(deviceClass)")
        default: return nil
        }
    }

    /// Both compose files run CURVE by default: every role gets its own secret key (a compose
    /// secret from the folder `scripts/deploy-keys.sh` writes) and the enrolment, read-only; the
    /// key is the one enrolled for that role; edges' device ids sit under their edge key.
    @Test(arguments: ["docker-compose.yml", "deploy/compose-host.yml"])
    func everyRoleGetsItsOwnEnrolledKeyAndTheEnrolment(_ file: String) async throws {
        let documents = try await YAMLDocuments.load(root.appendingPathComponent(file))
        let document = try #require(documents.first as? [String: Any])
        let services = try #require(document["services"] as? [String: [String: Any]])
        let declared = try #require(document["secrets"] as? [String: [String: Any]], "\(file) declares no secrets")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fedpulse-compose-keys-\(UUID().uuidString.prefix(8))"
        )
        defer { try? FileManager.default.removeItem(at: folder) }
        let keys = try await DeploymentKeys.make(in: folder)
        let roles = try keys.roles()
        // What compose substitutes for FEDPULSE_KEYS when the test (or a user) sets it.
        let variable = file == "docker-compose.yml" ? "${FEDPULSE_KEYS:-./deploy/keys}" : "${FEDPULSE_KEYS:-./keys}"
        var checked = 0
        for (name, service) in services.sorted(by: { $0.key < $1.key }) where name != "prometheus" && name != "grafana"
        {
            let command = try #require(Self.command(of: service), "service \(name) has no command")
            #expect(!command.contains("--insecure"), "\(file) \(name) runs insecure")
            let party = try #require(Self.party(of: command), "\(file) \(name): which party is this?")
            let keyIndex = try #require(command.firstIndex(of: "--curve-secret-key"), "\(file) \(name) has no key")
            let keyPath = command.indices.contains(keyIndex + 1) ? command[keyIndex + 1] : ""
            let secretName = try #require(
                keyPath.hasPrefix("/run/secrets/") ? String(keyPath.dropFirst("/run/secrets/".count)) : nil,
                "\(file) \(name): the key \(keyPath) is not a compose secret"
            )
            #expect((service["secrets"] as? [String]) == [secretName], "\(file) \(name) gets other secrets too")
            let source = try #require(declared[secretName]?["file"] as? String, "secret \(secretName) is not declared")
            #expect(
                source == "\(variable)/secret/\(party.name).key",
                "\(file) \(name) is given \(source), not the key of \(party.name)"
            )
            #expect(roles[party.name] == party.role, "deploy-keys.sh does not enrol \(party.name) as \(party.role)")
            let enrolmentIndex = try #require(command.firstIndex(of: "--enrolment"))
            #expect(
                command.indices.contains(enrolmentIndex + 1) && command[enrolmentIndex + 1] == "/keys/enrolment.txt"
            )
            let volumes = (service["volumes"] as? [String]) ?? []
            #expect(
                volumes.contains("\(variable)/public:/keys:ro"),
                "\(file) \(name) does not mount the enrolment read-only"
            )
            if command.first == "edge" {
                let prefixIndex = try #require(command.firstIndex(of: "--id-prefix"))
                let prefix = command.indices.contains(prefixIndex + 1) ? command[prefixIndex + 1] : ""
                #expect(
                    prefix.hasPrefix("\(party.name)/") && prefix.contains("{replica}"),
                    "\(file) \(name): device ids \(prefix) are not under the edge key \(party.name)"
                )
            }
            checked += 1
        }
        #expect(checked == 9)
        // Every declared secret is a file the script made.
        for (secret, entry) in declared {
            let source = (entry["file"] as? String ?? "").replacingOccurrences(of: variable, with: folder.path)
            #expect(
                FileManager.default.fileExists(atPath: source),
                "secret \(secret): deploy-keys.sh makes no \(source)"
            )
        }
    }
}
