import FedPulseTestSupport
import Foundation
import Runtime
import Testing

/// Revocation with real processes (issue 9): a coordinator reading an enrolment file, two edge
/// processes checking in. Removing one key's line from the file, with the coordinator running,
/// makes that key's next connection fail at the handshake and its devices leave the population,
/// while the other key's devices still count, across a reconnect of their own.
///
/// Everything waits on the coordinator's metrics and log lines, never on a fixed delay.
@Suite(.timeLimit(.minutes(3)))
struct RevocationEndToEndTests {
    /// How an edge proves its devices: one edge key for all of them, or one key per device.
    enum Keys: String, CaseIterable, Sendable {
        case edgeKey, deviceKeys
    }

    /// A coordinator, the key folder and a way to start edges, for one run.
    struct Run {
        let hierarchy: Hierarchy
        let keys: KeyDirectory
        let metrics: PrometheusScraper
        let coordinator: ChildProcesses.Child
        let kind: Keys

        /// The parties of edge `label` (`a`, `b`): its enrolled names and its devices' ids.
        func party(_ label: String) -> (enrolled: [String], devices: [String]) {
            switch kind {
            case .edgeKey: (["edge-\(label)"], ["edge-\(label)/watch-0", "edge-\(label)/watch-1"])
            case .deviceKeys: (["watch-\(label)-0", "watch-\(label)-1"], ["watch-\(label)-0", "watch-\(label)-1"])
            }
        }

        static func parties(_ kind: Keys) -> [(name: String, role: String)] {
            var parties: [(name: String, role: String)] = [("coordinator", "coordinator")]
            for label in ["a", "b"] {
                switch kind {
                case .edgeKey: parties.append(("edge-\(label)", "edge:watch"))
                case .deviceKeys: parties += ["watch-\(label)-0", "watch-\(label)-1"].map { ($0, "device:watch") }
                }
            }
            return parties
        }

        /// A coordinator under CURVE reading a fresh enrolment of `kind`'s parties.
        static func start(_ kind: Keys, name: String) throws -> Run {
            let hierarchy = try Hierarchy(name: "revocation-\(kind.rawValue)")
            let keys = try KeyDirectory.create(
                at: hierarchy.directory.appendingPathComponent("keys").path,
                parties: parties(kind)
            )
            let metricsPort = try FreePorts.pick(1)[0]
            // No shard: no round opens, so the population the check-ins make is all there is to see.
            let coordinator = try hierarchy.children.launch(
                name: "coordinator",
                arguments: [
                    "coordinator", "--broadcast", hierarchy.broadcast, "--control", hierarchy.control, "--rounds", "1",
                    "--wait-for-workers", "50", "--worker-timeout-ms", "1500", "--state-dir",
                    hierarchy.stateDirectory.path, "--metrics-port", "\(metricsPort)", "--task", "sleep-quality",
                    "--seed",
                    "7", "--curve-secret-key", keys.secretKeyPath(of: "coordinator"), "--enrolment", keys.enrolmentPath,
                    // Debug: the coordinator logs each device the first time it checks in.
                    "--log-level", "debug",
                ]
            )
            return Run(
                hierarchy: hierarchy,
                keys: keys,
                metrics: PrometheusScraper(port: metricsPort),
                coordinator: coordinator,
                kind: kind
            )
        }

        /// Rewrites the enrolment without edge `label`'s key(s), as a user (or `deploy-keys.sh
        /// --revoke`) would, and waits until the coordinator has read it; returns the old enrolment.
        func revoke(_ label: String) async throws -> Enrolment {
            let revoked = Set(party(label).enrolled)
            let enrolment = try Enrolment.load(path: keys.enrolmentPath)
            let kept = enrolment.entries.filter { !revoked.contains($0.name) }
            // The revoked machine keeps its old copy, and an edge checks its own key against it.
            try FileManager.default.copyItem(atPath: keys.enrolmentPath, toPath: staleEnrolmentPath)
            let text = kept.map { "\($0.name) \($0.role) \($0.publicKey)" }.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: keys.enrolmentPath), options: .atomic)
            try await waitForLog(["enrolment reloaded", "enrolment.count=\(kept.count)"], "the edit was read")
            return enrolment
        }

        /// The enrolment as it was before ``revoke(_:)``, as a revoked machine still has it.
        var staleEnrolmentPath: String { (keys.path as NSString).appendingPathComponent("stale-enrolment.txt") }

        /// Starts edge `label`'s process (two watch devices) under the log name `name`; `stale`
        /// gives it the enrolment from before the revocation, as the revoked machine would have.
        @discardableResult
        func startEdge(_ label: String, name: String, stale: Bool = false) throws -> ChildProcesses.Child {
            var arguments = [
                "edge", "--device-class", "watch", "--devices", "2", "--checkin-ms", "200", "--task", "sleep-quality",
                "--seed", "7",
            ]
            arguments +=
                hierarchy.coordinatorEndpoints + ["--enrolment", stale ? staleEnrolmentPath : keys.enrolmentPath]
            switch kind {
            case .edgeKey:
                arguments += ["--curve-secret-key", keys.secretKeyPath(of: "edge-\(label)")]
            case .deviceKeys:
                arguments += ["--id-prefix", "watch-\(label)", "--first-user", "0", "--curve-key-dir", keys.path]
            }
            return try hierarchy.children.launch(name: name, arguments: arguments)
        }

        /// Waits until the coordinator counts exactly `count` eligible watch devices.
        func waitForEligible(_ count: Int, _ why: String, within: Duration = .seconds(40)) async throws {
            _ = try await metrics.waitUntil("\(count) eligible watch devices (\(why))", within: within) {
                $0.value("fedpulse_eligible_workers", ["region": "watch"]) == Double(count)
            }
        }

        /// Waits until the coordinator's log has a line containing every one of `parts`.
        func waitForLog(_ parts: [String], _ why: String) async throws {
            let logged = try await Poll.until(within: .seconds(40), every: .milliseconds(100)) {
                let log = (try? String(contentsOf: coordinator.logFile, encoding: .utf8)) ?? ""
                return log.split(separator: "\n").contains { line in parts.allSatisfy { line.contains($0) } }
            }
            guard logged else {
                Issue.record("the coordinator never logged \(parts) (\(why))")
                throw CancellationError()
            }
        }
    }

    @Test(arguments: Keys.allCases)
    func aRevokedKeyIsRefusedAtItsNextConnectionAndAnotherKeepsWorking(_ kind: Keys) async throws {
        let run = try Run.start(kind, name: "revocation-\(kind.rawValue)")
        let hierarchy = run.hierarchy
        defer { try? FileManager.default.removeItem(at: hierarchy.directory) }
        try await hierarchy.diagnosing {
            let edgeA = try run.startEdge("a", name: "edge-a")
            let edgeB = try run.startEdge("b", name: "edge-b")
            try await run.waitForEligible(4, "both edges checked in")
            let refusedBefore = try await run.metrics.scrape().value("fedpulse_handshakes_refused_total")

            let enrolment = try await run.revoke("a")

            // a's next connection: the process comes back with the same key and is refused.
            hierarchy.kill(edgeA)
            try run.startEdge("a", name: "edge-a-again", stale: true)
            let revokedKey = try #require(enrolment.publicKey(of: run.party("a").enrolled[0]))
            try await run.waitForLog(["connection refused: key not enrolled", revokedKey], "a's handshake")
            _ = try await run.metrics.waitUntil("a refused handshake counted", within: .seconds(20)) {
                $0.value("fedpulse_handshakes_refused_total") > refusedBefore
            }
            // a's devices no longer count: they leave the population, b's stay.
            for device in run.party("a").devices {
                try await run.waitForLog(["workers stopped checking in", device], "\(device) dropped")
            }
            try await run.waitForEligible(2, "only b's devices")

            // b is still enrolled: a fresh connection of its key after the reload is admitted.
            hierarchy.kill(edgeB)
            try await run.waitForEligible(0, "b's devices timed out too")
            try run.startEdge("b", name: "edge-b-again")
            try await run.waitForEligible(2, "b reconnected after the reload")
            // Each device is logged when it joins the population: a's once (before the
            // revocation, never after), b's twice (before, and again after its reconnect).
            let lines = try String(contentsOf: run.coordinator.logFile, encoding: .utf8).split(separator: "\n")
            for (label, times) in [("a", 1), ("b", 2)] {
                for device in run.party(label).devices {
                    let joined = lines.filter { $0.contains("worker checked in") && $0.contains("worker.id=\(device)") }
                    #expect(joined.count == times, "\(device) joined \(joined.count) times: \(joined)")
                }
            }
        }
        await hierarchy.shutdown()
    }
}
