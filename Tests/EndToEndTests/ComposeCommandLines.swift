import FedPulseTestSupport
import Foundation
import Runtime
import Testing

/// Checks the command lines a deployment file gives its containers against the built binary, so
/// compose, Kubernetes and lab files cannot name a subcommand or a flag that does not exist.
///
/// The check is `fedpulse <sub> --help` (is it a subcommand, which long flags does it list) and
/// then the whole command line plus `--help` (ArgumentParser checks flag names and arity before
/// it prints help), so nothing is started.
struct DeploymentCommandLines {
    let binary: URL
    private var helpBySubcommand: [String: Set<String>] = [:]

    init() throws {
        binary = try FedPulseBinary.locate()
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

    /// The flags of `subcommand`, recording an issue (and returning nil) when it is not one.
    mutating func flags(of subcommand: String, in place: String) async throws -> Set<String>? {
        if let known = helpBySubcommand[subcommand] { return known }
        let help = try await ShortCommand.run(binary, [subcommand, "--help"])
        // An unknown subcommand would print the root help instead, also with status 0.
        guard help.status == 0, help.text.contains("USAGE: fedpulse \(subcommand) ") else {
            Issue.record("\(place): `\(subcommand)` is not a fedpulse subcommand: \(help.text.prefix(300))")
            return nil
        }
        let flags = Self.flags(inHelp: help.text)
        helpBySubcommand[subcommand] = flags
        return flags
    }

    /// Records an issue for every flag `command` uses that its subcommand lacks, and for a command
    /// line that does not parse.
    mutating func check(_ command: [String], in place: String) async throws {
        guard let subcommand = command.first else {
            Issue.record("\(place) has an empty command")
            return
        }
        guard let known = try await flags(of: subcommand, in: place) else { return }
        for flag in command.dropFirst() where flag.hasPrefix("--") {
            let name = String(flag.split(separator: "=", maxSplits: 1)[0])
            #expect(known.contains(name), "\(place): `fedpulse \(subcommand)` has no flag \(flag)")
        }
        let parsed = try await ShortCommand.run(binary, command + ["--help"])
        #expect(
            parsed.status == 0,
            "\(place): `fedpulse \(command.joined(separator: " ")) --help` failed: \(parsed.text)"
        )
    }

    /// Records an issue for a `FEDPULSE_<FLAG>` variable whose flag `subcommand` lacks
    /// (EnvironmentDefaults would ignore it silently).
    mutating func checkEnvironment(_ keys: some Sequence<String>, of subcommand: String, in place: String) async throws
    {
        guard let known = try await flags(of: subcommand, in: place) else { return }
        for key in keys where key.hasPrefix("FEDPULSE_") {
            let flag = "--" + key.dropFirst("FEDPULSE_".count).lowercased().replacingOccurrences(of: "_", with: "-")
            #expect(known.contains(flag), "\(place): \(key) names \(flag), which `fedpulse \(subcommand)` lacks")
        }
    }
}

/// YAML read by python3's PyYAML (which resolves anchors and `<<` merges), as JSON objects.
enum YAMLDocuments {
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Every document of the YAML file at `url`, in order.
    static func load(_ url: URL) async throws -> [Any] {
        let script = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"
        let output = try await ShortCommand.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", script, url.path]
        )
        guard output.status == 0 else {
            throw Unreadable(description: "PyYAML could not read \(url.path): \(output.text)")
        }
        guard let documents = try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [Any] else {
            throw Unreadable(description: "\(url.path) is not a list of YAML documents")
        }
        return documents
    }
}

/// A deployment's keys as `scripts/deploy-keys.sh` makes them, for the compose, Kubernetes and
/// key-script tests: the script run with the built binary into a scratch folder.
struct DeploymentKeys {
    static let script = FedPulseBinary.repositoryRoot().appendingPathComponent("scripts/deploy-keys.sh")

    /// The folder the script wrote (`secret/NAME.key`, `public/NAME.pub`, `public/enrolment.txt`).
    let folder: URL

    var enrolmentPath: String { folder.appendingPathComponent("public/enrolment.txt").path }

    func secretKeyPath(of name: String) -> String { folder.appendingPathComponent("secret/\(name).key").path }

    /// Runs the script with `arguments` before the folder; its output when it fails.
    static func run(_ arguments: [String]) async throws -> ShortCommand.Output {
        try await ShortCommand.run(
            URL(fileURLWithPath: "/bin/bash"),
            [script.path, "--fedpulse", try FedPulseBinary.locate().path] + arguments
        )
    }

    /// Makes a deployment's keys in `folder` (which must not hold keys yet).
    static func make(in folder: URL, shards: [String: Int] = [:]) async throws -> DeploymentKeys {
        let shardFlags = shards.sorted { $0.key < $1.key }.flatMap { ["--shards", "\($0.key)=\($0.value)"] }
        let output = try await run(shardFlags + [folder.path])
        guard output.status == 0 else {
            throw YAMLDocuments.Unreadable(description: "deploy-keys.sh failed: \(output.text)")
        }
        return DeploymentKeys(folder: folder)
    }

    /// `name → role` of the enrolment file.
    func roles() throws -> [String: String] {
        let enrolment = try Enrolment.load(path: enrolmentPath)
        return Dictionary(uniqueKeysWithValues: enrolment.entries.map { ($0.name, $0.role) })
    }
}
