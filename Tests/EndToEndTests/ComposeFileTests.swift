import FedPulseTestSupport
import Foundation
import Testing

/// `docker-compose.yml` and `deploy/Dockerfile` describe a deployment that can actually start:
/// every service runs a real `fedpulse` subcommand with flags that subcommand has.
///
/// There is no Docker engine on the test machine, so this is a static check against the built
/// binary's own `--help`; it starts no process beyond `fedpulse <subcommand> --help`.
@Suite(.timeLimit(.minutes(1)))
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
}
