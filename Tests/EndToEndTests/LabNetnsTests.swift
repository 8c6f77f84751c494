import FedPulseTestSupport
import Foundation
import Runtime
import Testing

/// `fedpulse lab up|status|down` for real: three "lab machines" as network namespaces joined by
/// a bridge in the test's own namespace, each with its own sshd and an address that exists only
/// there (scripts/deploy-lab-netns.sh). The hierarchy runs across them under CURVE; one host's
/// edges and one shard are killed mid-run, training goes on, and `lab down` leaves nothing.
@Suite(.timeLimit(.minutes(3)))
struct LabNetnsTests {
    static let script = FedPulseBinary.repositoryRoot().appendingPathComponent("scripts/deploy-lab-netns.sh")

    /// Namespaces, veth and a bridge need root and iproute2; the hosts need sshd.
    static var canMakeLabMachines: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
            && KubernetesManifestTests.tool("ip") != nil && KubernetesManifestTests.tool("ssh") != nil
    }

    static func topology(addresses: [String], folder: URL, binary: URL) -> String {
        let key = folder.appendingPathComponent("netns/id_ed25519").path
        let hosts = addresses.enumerated().map { index, address in
            "  - {name: lab\(index + 1), address: \(address), user: root, key: \(key)}"
        }
        return """
            name: netns
            binary: \(binary.path)
            workdir: \(folder.appendingPathComponent("work").path)
            transport: curve
            ssh: ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5"]
            hosts:
            \(hosts.joined(separator: "\n"))
            roles:
              auditor: {host: lab1, epsilonBudget: 1000000, args: ["--accountant", "rdp", "--pld-discretization", "0"]}
              coordinator:
                host: lab1
                args: ["--rounds", "100000", "--wait-for-workers", "7", "--round-timeout-ms", "3000",
                       "--aggregator-timeout-ms", "1000", "--worker-timeout-ms", "3000", "--republish-ms", "100",
                       "--holdout", "synthetic", "--task", "sleep-quality", "--seed", "7",
                       "--dp", "central", "--clip", "1", "--noise-multiplier", "3", "--delta", "1e-5"]
              global: {host: lab2, args: ["--heartbeat-ms", "200", "--grace-ms", "500"]}
              shards:
                - {host: lab2, class: watch, args: ["--heartbeat-ms", "200"]}
                - {host: lab3, class: watch, args: ["--heartbeat-ms", "200"]}
                - {host: lab2, class: phone, args: ["--heartbeat-ms", "200"]}
              edges:
                - {host: lab2, class: watch, devices: 3, args: ["--checkin-ms", "300", "--send-delay-ms", "200", "--task", "sleep-quality", "--seed", "7"]}
                - {host: lab3, class: watch, devices: 2, args: ["--checkin-ms", "300", "--send-delay-ms", "200", "--task", "sleep-quality", "--seed", "7"]}
                - {host: lab3, class: phone, devices: 2, args: ["--checkin-ms", "300", "--send-delay-ms", "200", "--task", "sleep-quality", "--seed", "7"]}
            """
    }

    /// The coordinator's last round id in `lab status` output, and which processes are alive.
    static func parseStatus(_ text: String) -> (round: Int, alive: Set<String>, dead: Set<String>) {
        var round = 0
        var alive: Set<String> = []
        var dead: Set<String> = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 3 else { continue }
            if words[1] == "alive" { alive.insert(words[0]) } else if words[1] == "dead" { dead.insert(words[0]) }
            if words[0] == "coordinator", let id = Int(words[2].dropFirst("round.id=".count)) { round = id }
        }
        return (round, alive, dead)
    }

    @Test(.enabled(if: canMakeLabMachines, "network namespaces and sshd need root, iproute2 and openssh-server"))
    func labUpRunsTheHierarchyAcrossHostsAndSurvivesAHostsEdgesAndAShardDying() async throws {
        let binary = try FedPulseBinary.locate()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fedpulse-lab-\(UUID().uuidString.prefix(8))"
        )
        let netns = folder.appendingPathComponent("netns")
        let bash = URL(fileURLWithPath: "/bin/bash")
        let created = try await ShortCommand.run(bash, [Self.script.path, "create", netns.path, "3"])
        defer {
            // Whatever happened, the namespaces, their sshds and anything left inside go.
            let cleanup = Process()
            cleanup.executableURL = bash
            cleanup.arguments = [Self.script.path, "destroy", netns.path]
            try? cleanup.run()
            cleanup.waitUntilExit()
        }
        try #require(created.status == 0, "could not make the lab machines: \(created.text)")
        let addresses = created.text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("10.203.") }
        try #require(addresses.count == 3, "\(created.text)")
        let file = folder.appendingPathComponent("lab.yaml")
        try Data(Self.topology(addresses: addresses, folder: folder, binary: binary).utf8).write(to: file)
        let operatorFolder = folder.appendingPathComponent("operator").path
        func lab(_ verb: String) async throws -> ShortCommand.Output {
            try await ShortCommand.run(binary, ["lab", verb, file.path, "--folder", operatorFolder])
        }
        func status(
            until done: ((round: Int, alive: Set<String>, dead: Set<String>)) -> Bool
        ) async throws
            -> (round: Int, alive: Set<String>, dead: Set<String>)
        {
            let deadline = ContinuousClock.now + .seconds(60)
            var last = (round: 0, alive: Set<String>(), dead: Set<String>())
            while ContinuousClock.now < deadline {
                last = Self.parseStatus(try await lab("status").text)
                if done(last) { return last }
                try await Task.sleep(for: .milliseconds(500))  // the next `lab status` poll
            }
            return last
        }

        let plan = LabPlan(try LabTopology.load(path: file.path))
        let everyone = Set(plan.processes.map(\.name))
        #expect(everyone.count == 9)
        let up = try await lab("up")
        #expect(up.status == 0, "lab up failed: \(up.text)")
        #expect(up.text.components(separatedBy: " started pid ").count - 1 == everyone.count, "\(up.text)")
        let running = try await status { $0.round >= 3 && $0.alive == everyone }
        #expect(running.round >= 3 && running.alive == everyone, "the lab did not train: \(running)")

        // The operator follows the lab's auditor from the topology alone (endpoint and observer key).
        let followed = try await ShortCommand.run(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            [
                "60", binary.path, "audit", "tail", "--topology", file.path, "--folder", operatorFolder,
                "--max-entries", "2", "--json",
            ]
        )
        #expect(followed.status == 0, "audit tail --topology: \(followed.text)")
        #expect(followed.text.contains("\"kind\""), "audit tail --topology showed no ledger entry: \(followed.text)")

        // lab3 loses its edges and its watch shard at once, as a host failure would.
        let victims = ["edge-watch-1", "edge-phone-0", "region-watch-1"]
        for name in victims {
            let pidFile = URL(fileURLWithPath: plan.workdir).appendingPathComponent("run/\(name).pid")
            let pid = try #require(
                Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
            )
            #expect(kill(pid, SIGKILL) == 0, "could not kill \(name)")
        }
        let killedAt = try await status { Set(victims).isSubset(of: $0.dead) }
        #expect(
            Set(victims).isSubset(of: killedAt.dead),
            "lab status does not show the killed processes dead: \(killedAt)"
        )
        let after = try await status { $0.round >= killedAt.round + 3 }
        #expect(
            after.round >= killedAt.round + 3,
            "training stopped after lab3 died: rounds \(killedAt.round) → \(after.round)"
        )
        #expect(after.alive == everyone.subtracting(victims))

        let down = try await lab("down")
        #expect(down.status == 0, "lab down failed: \(down.text)")
        for process in plan.processes {
            let pidFile = URL(fileURLWithPath: plan.workdir).appendingPathComponent("run/\(process.name).pid")
            #expect(!FileManager.default.fileExists(atPath: pidFile.path), "\(process.name)'s pid file is left")
        }
        let stopped = Self.parseStatus(try await lab("status").text)
        #expect(stopped.alive.isEmpty, "still alive after lab down: \(stopped.alive)")
        let coordinatorLog = try String(
            contentsOfFile: operatorFolder + "/logs/lab1-coordinator.log",
            encoding: .utf8
        )
        #expect(coordinatorLog.contains("round completed") && coordinatorLog.contains("transport=curve"))
        // Each edge ran under its own edge key, its devices sharing one socket per peer.
        let edgeLog = try String(contentsOfFile: operatorFolder + "/logs/lab2-edge-watch-0.log", encoding: .utf8)
        #expect(edgeLog.contains("edge.name=edge-watch-0 edge.sockets=shared"), "\(edgeLog.prefix(600))")
    }
}
