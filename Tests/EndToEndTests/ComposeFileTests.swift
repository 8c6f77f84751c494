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

    /// The compose file as JSON, parsed by python3's PyYAML (which resolves anchors and `<<` merges).
    func composeDocument() async throws -> [String: Any] {
        let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
        let output = try await ShortCommand.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, root.appendingPathComponent("docker-compose.yml").path]
        )
        try #require(output.status == 0, "python3 with PyYAML could not read docker-compose.yml: \(output.text)")
        let object = try JSONSerialization.jsonObject(with: Data(output.text.utf8))
        return try #require(object as? [String: Any])
    }

    /// A service's command as an argument list (compose also allows one shell-style string).
    static func command(of service: [String: Any]) -> [String]? {
        if let list = service["command"] as? [String] { return list }
        if let text = service["command"] as? String { return text.split(separator: " ").map(String.init) }
        return nil
    }

    /// The long flags a subcommand's `--help` lists.
    static func flags(inHelp help: String) -> Set<String> {
        var flags: Set<String> = []
        var rest = help[...]
        while let range = rest.range(of: "--") {
            let name = rest[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if !name.isEmpty { flags.insert("--" + name) }
            rest = rest[range.upperBound...]
        }
        return flags
    }

    @Test func deployFilesExistAndTheImageRunsFedpulse() throws {
        let dockerfile = try String(contentsOf: root.appendingPathComponent("deploy/Dockerfile"), encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("docker-compose.yml").path))
        #expect(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/fedpulse\"]"))
        #expect(dockerfile.contains("--product fedpulse"))
    }

    @Test func everyServiceRunsARealSubcommandWithFlagsItHas() async throws {
        let document = try await composeDocument()
        let services = try #require(document["services"] as? [String: [String: Any]])
        let binary = try FedPulseBinary.locate()
        var helpBySubcommand: [String: Set<String>] = [:]
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            let command = try #require(Self.command(of: service), "service \(name) has no command")
            let subcommand = try #require(command.first, "service \(name) has an empty command")
            if helpBySubcommand[subcommand] == nil {
                let help = try await ShortCommand.run(binary, [subcommand, "--help"])
                #expect(help.status == 0, "service \(name): `fedpulse \(subcommand) --help` failed: \(help.text)")
                // An unknown subcommand would print the root help instead, also with status 0.
                #expect(help.text.contains("USAGE: fedpulse \(subcommand) "), "service \(name): \(subcommand) is not a fedpulse subcommand")
                helpBySubcommand[subcommand] = Self.flags(inHelp: help.text)
            }
            let known = helpBySubcommand[subcommand] ?? []
            for flag in command.dropFirst() where flag.hasPrefix("--") {
                let name = String(flag.split(separator: "=", maxSplits: 1)[0])
                #expect(known.contains(name), "service \(name): `fedpulse \(subcommand)` has no flag \(flag)")
            }
            // The same command with --help still parses (ArgumentParser checks flag names and arity first).
            let parsed = try await ShortCommand.run(binary, command + ["--help"])
            #expect(parsed.status == 0, "service \(name): `fedpulse \(command.joined(separator: " ")) --help` failed: \(parsed.text)")
        }
    }

    @Test func environmentVariablesNameFlagsOfTheServicesThatGetThem() async throws {
        let document = try await composeDocument()
        let services = try #require(document["services"] as? [String: [String: Any]])
        let binary = try FedPulseBinary.locate()
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            guard let environment = service["environment"] as? [String: Any], let subcommand = Self.command(of: service)?.first else {
                continue
            }
            let help = Self.flags(inHelp: try await ShortCommand.run(binary, [subcommand, "--help"]).text)
            for key in environment.keys where key.hasPrefix("FEDPULSE_") && subcommand != "coordinator" {
                // FEDPULSE_COORDINATOR_BROADCAST stands in for --coordinator-broadcast (EnvironmentDefaults).
                let flag = "--" + key.dropFirst("FEDPULSE_".count).lowercased().replacingOccurrences(of: "_", with: "-")
                #expect(help.contains(flag), "service \(name): \(key) names \(flag), which `fedpulse \(subcommand)` lacks")
            }
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
        let copied = dockerfile.split(separator: "\n").filter { $0.hasPrefix("COPY ") && !$0.contains("--from=") }.joined(separator: "\n")
        #expect(copied.contains("Package.swift") && copied.contains("Sources"))
        // SwiftPM refuses a manifest whose targets' folders are missing, test targets included.
        #expect(copied.contains("Tests"))
    }
}
