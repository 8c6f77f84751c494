import FedPulseTestSupport
import Foundation
import Testing

/// The compose deployment, really run: podman with podman-compose over host networking
/// (deploy/compose-host.yml), the image built without a registry (scripts/deploy-podman.sh), the
/// auditor, one aggregator per class and scaled edges, all under CURVE with the keys
/// `scripts/deploy-keys.sh` made (replicas of an edge service share its edge key). Rounds complete
/// with every replica's devices in the cohort, ε grows in the ledger, every role says it ran
/// CURVE, and `down --remove-orphans` leaves nothing.
@Suite(.timeLimit(.minutes(3)))
struct ComposePodmanTests {
    static let root = FedPulseBinary.repositoryRoot()
    static let script = root.appendingPathComponent("scripts/deploy-podman.sh")

    static var podmanIsInstalled: Bool {
        KubernetesManifestTests.tool("podman") != nil && KubernetesManifestTests.tool("podman-compose") != nil
            && KubernetesManifestTests.tool("runc") != nil
    }

    /// Runs `arguments` with CONTAINERS_CONF pointing at this test's configuration (and
    /// FEDPULSE_KEYS at this test's keys, which compose substitutes into the file).
    ///
    /// Output goes to a file, and bash closes every inherited descriptor above 2 before it execs
    /// the command: the containers' conmon processes inherit what `podman-compose up -d` has, and
    /// Foundation's Process learns of an exit from a descriptor of its own closing.
    static func run(
        _ configuration: String,
        _ arguments: [String],
        keys: String? = nil
    ) async throws -> (status: Int32, text: String) {
        try await onOwnThread("e2e-podman") {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fedpulse-podman-\(UUID().uuidString).out"
            )
            defer { try? FileManager.default.removeItem(at: output) }
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let handle = try FileHandle(forWritingTo: output)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            let closeAndRun =
                #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec "$@""#
            process.arguments =
                ["-c", closeAndRun, "podman-run", "/usr/bin/env", "CONTAINERS_CONF=\(configuration)"]
                + (keys.map { ["FEDPULSE_KEYS=\($0)"] } ?? []) + arguments
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            try? handle.close()
            process.waitUntilExit()
            return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
        }
    }

    @Test(
        .enabled(
            if: podmanIsInstalled,
            "podman, runc and podman-compose are not installed (scripts/deploy-podman.sh install)"
        )
    )
    func scaledComposeDeploymentTrainsWithEveryReplicaAndLeavesNothingRunning() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fedpulse-podman-\(UUID().uuidString.prefix(8))"
        )
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bash = URL(fileURLWithPath: "/bin/bash")
        let conf = try await ShortCommand.run(bash, [Self.script.path, "conf", scratch.path])
        try #require(conf.status == 0, "\(conf.text)")
        let configuration = scratch.appendingPathComponent("containers.conf").path
        let base = try await Self.run(configuration, ["podman", "image", "exists", "localhost/fedpulse-base:bookworm"])
        try #require(
            base.status == 0,
            "the base image is missing: run scripts/deploy-podman.sh base (make test's deps do)"
        )
        let image = try await Self.run(
            configuration,
            [bash.path, Self.script.path, "image", try FedPulseBinary.locate().path]
        )
        try #require(image.status == 0, "could not build localhost/fedpulse:latest: \(image.text)")

        let keys = try await DeploymentKeys.make(in: scratch.appendingPathComponent("keys"))
        let project = "fp\(UUID().uuidString.prefix(6).lowercased())"
        let compose = [
            "podman-compose", "-f", Self.root.appendingPathComponent("deploy/compose-host.yml").path, "-p", project,
        ]
        func composeDown() async throws -> (status: Int32, text: String) {
            try await Self.run(configuration, compose + ["down", "--remove-orphans", "-v"], keys: keys.folder.path)
        }
        do {
            // podman-compose 1.6 applies one --scale per call; the second `up` keeps the first's replicas.
            let up = try await Self.run(
                configuration,
                compose + ["up", "-d", "--scale", "edge-watch=3"],
                keys: keys.folder.path
            )
            #expect(up.status == 0, "\(up.text)")
            let upPhones = try await Self.run(
                configuration,
                compose + ["up", "-d", "--scale", "edge-phone=2"],
                keys: keys.folder.path
            )
            #expect(upPhones.status == 0, "\(upPhones.text)")
            try await Self.checkTraining(configuration: configuration, project: project, keys: keys)
        } catch {
            _ = try? await composeDown()
            throw error
        }
        let down = try await composeDown()
        #expect(down.status == 0, "\(down.text)")
        for kind in ["ps -a", "volume ls"] {
            let listed = try await Self.run(
                configuration,
                ["podman"] + kind.split(separator: " ").map(String.init)
                    + ["-q", "--filter", "label=io.podman.compose.project=\(project)"]
            )
            let left = listed.text.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(left.isEmpty, "`podman \(kind)` still lists the project's \(left) after down --remove-orphans -v")
        }
    }

    /// 3 watch + 2 phone + 1 tablet replicas × 4 devices: the population the coordinator sees.
    static let expectedDevices = 24

    static func checkTraining(configuration: String, project: String, keys: DeploymentKeys) async throws {
        // Every replica's devices are in the round's population (Poisson selection: members are
        // everyone eligible), and a round completes after that.
        let deadline = ContinuousClock.now + .seconds(90)
        var log = ""
        var trained = false
        while ContinuousClock.now < deadline, !trained {
            log = try await run(configuration, ["podman", "logs", "\(project)_coordinator_1"]).text
            if let opened = log.range(of: "round.members=\(expectedDevices) ") {
                trained = log[opened.upperBound...].contains("round completed")
            }
            if !trained { try await Task.sleep(for: .milliseconds(500)) }  // the next look at the log
        }
        #expect(trained, "no round with all \(expectedDevices) devices completed: \(log.suffix(1500))")

        // Each watch replica has its own device ids although all share the host name.
        var prefixes: Set<String> = []
        for replica in 1...3 {
            let edgeLog = try await run(configuration, ["podman", "logs", "\(project)_edge-watch_\(replica)"]).text
            if let range = edgeLog.range(of: "fedpulse.edge-") {
                prefixes.insert(String(edgeLog[range.upperBound...].prefix { !$0.isWhitespace && $0 != ":" }))
            }
        }
        #expect(prefixes.count == 3, "watch replicas share device ids: \(prefixes)")
        #expect(prefixes.allSatisfy { $0.hasPrefix("edge-watch/") }, "device ids not under the edge key: \(prefixes)")

        // The run really was CURVE: every server started its ZAP allowlist, the edges ran under
        // their service's edge key, and no line of any role says insecure.
        let started: [(container: String, says: String)] = [
            ("coordinator_1", "CURVE with enrolment allowlist"), ("auditor_1", "CURVE with enrolment allowlist"),
            ("aggregator-global_1", "CURVE with enrolment allowlist"),
            ("aggregator-watch_1", "CURVE with enrolment allowlist"),
            ("edge-watch_1", "edge.name=edge-watch edge.sockets=shared"),
            ("edge-phone_2", "edge.name=edge-phone edge.sockets=shared"),
        ]
        for (container, says) in started {
            let roleLog = try await run(configuration, ["podman", "logs", "\(project)_\(container)"]).text
            #expect(
                roleLog.contains("transport=curve") && roleLog.contains(says),
                "\(container) did not run CURVE (\(says)): \(roleLog.prefix(800))"
            )
            #expect(!roleLog.contains("transport=insecure"), "\(container) ran insecure")
        }
        #expect(!log.contains("senderMismatch"), "the coordinator refused a claimed sender: \(log.suffix(800))")

        let ledger = try await run(
            configuration,
            ["podman", "exec", "\(project)_auditor_1", "cat", "/ledger/ledger.jsonl"]
        )
        let epsilons = ledger.text.split(separator: "\n").compactMap { line -> Double? in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                entry["kind"] as? String == "approve"
            else { return nil }
            return entry["epsilonRDP"] as? Double
        }
        #expect(epsilons.count >= 2, "the ledger approved fewer than two rounds: \(ledger.text.prefix(500))")
        #expect(
            zip(epsilons, epsilons.dropFirst()).allSatisfy { $0 < $1 },
            "ε does not grow in the ledger: \(epsilons)"
        )

        // The operator follows the ledger from the host with the observer key deploy-keys.sh made.
        let followed = try await ShortCommand.run(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            [
                "60", try FedPulseBinary.locate().path, "audit", "tail", "--connect", "tcp://127.0.0.1:7301",
                "--curve-secret-key", keys.secretKeyPath(of: "observer"), "--enrolment", keys.enrolmentPath,
                "--max-entries", "1", "--json",
            ]
        )
        #expect(
            followed.status == 0 && followed.text.contains("\"kind\""),
            "audit tail with the observer key: \(followed.text)"
        )
    }
}
