public import Foundation
public import Runtime

/// A FedPulse hierarchy of real `fedpulse` processes on loopback, for one end-to-end test.
///
/// Built on the demo's own ``ChildProcesses`` and ``FreePorts``: the coordinator's two ports are
/// picked free, every aggregator binds `tcp://127.0.0.1:*` and announces itself, and each child
/// logs to `<directory>/logs/<name>.log`. Timings default to short values so that deadlines,
/// heartbeats and check-ins play out in seconds; each `start…` call can override any flag.
///
/// Every child is stopped by ``shutdown()`` (SIGTERM, then SIGKILL after a grace period) and, as a
/// last resort, when the hierarchy is deinitialised.
public final class Hierarchy: Sendable {
    /// The coordinator's broadcast PUB endpoint.
    public let broadcast: String
    /// The coordinator's control PULL endpoint.
    public let control: String
    /// Scratch folder of this run: `logs/`, `state/`.
    public let directory: URL
    public let children: ChildProcesses
    /// The run's CURVE keys and enrolment when the hierarchy is secure; nil runs `--insecure`.
    public let keys: KeyDirectory?

    /// Who a secure hierarchy enrols: every role, shards 0–1 of each class, devices 0–19 of each
    /// class, and the test's broadcast observer.
    public static func defaultParties() -> [(name: String, role: String)] {
        var parties: [(name: String, role: String)] = [
            ("coordinator", "coordinator"), ("global", "global"), ("auditor", "auditor"), ("e2e-observer", "observer"),
        ]
        for deviceClass in ["watch", "phone", "tablet"] {
            parties += (0..<2).map { ("region-\(deviceClass)-\($0)", "shard:\(deviceClass)") }
            parties += (0..<20).map { ("\(deviceClass)-\($0)", "device:\(deviceClass)") }
        }
        return parties
    }

    /// Flags shared by the coordinator and the edges so they agree on task, model and data.
    public static let learningFlags: KeyValuePairs<String, String> = ["--task": "sleep-quality", "--seed": "7"]

    /// - Parameters:
    ///   - secure: CURVE on every process with throwaway keys for ``defaultParties()`` plus `extraParties`.
    public init(name: String, secure: Bool = false, extraParties: [(name: String, role: String)] = []) throws {
        let ports = try FreePorts.pick(2)
        broadcast = "tcp://127.0.0.1:\(ports[0])"
        control = "tcp://127.0.0.1:\(ports[1])"
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fedpulse-e2e", isDirectory: true)
            .appendingPathComponent(
                "\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))",
                isDirectory: true
            )
        children = try ChildProcesses(
            executable: try FedPulseBinary.locate(),
            logDirectory: directory.appendingPathComponent("logs")
        )
        keys =
            secure
            ? try KeyDirectory.create(
                at: directory.appendingPathComponent("keys").path,
                parties: Self.defaultParties() + extraParties
            )
            : nil
    }

    /// The flags that give the process enrolled as `name` its key (or `--insecure`).
    public func securityFlags(for name: String) -> [String] {
        guard let keys else { return ["--insecure"] }
        return ["--curve-secret-key", keys.secretKeyPath(of: name), "--enrolment", keys.enrolmentPath]
    }

    /// The observer's security, for a ``BroadcastObserver`` or an audit follower of this hierarchy.
    public func observerSecurity() throws -> TransportSecurity {
        guard let keys else { return .insecure }
        return try TransportSecurity.curve(
            secretKeyFile: keys.secretKeyPath(of: "e2e-observer"),
            enrolmentFile: keys.enrolmentPath
        )
    }

    /// `--coordinator-broadcast` and `--coordinator-control`, as every non-coordinator role takes them.
    public var coordinatorEndpoints: [String] {
        ["--coordinator-broadcast", broadcast, "--coordinator-control", control]
    }

    /// The coordinator's state folder (checkpoint), stable across restarts within this hierarchy.
    public var stateDirectory: URL { directory.appendingPathComponent("state", isDirectory: true) }

    // MARK: Roles

    /// Starts the coordinator; `rounds`, `waitForWorkers` and the round timeout are the flags a test
    /// always thinks about, the rest are short defaults that `overrides` may replace.
    @discardableResult
    public func startCoordinator(
        name: String = "coordinator",
        rounds: Int,
        waitForWorkers: Int,
        roundTimeoutMillis: Int,
        overrides: KeyValuePairs<String, String> = [:]
    ) throws -> ChildProcesses.Child {
        let flags = Self.merge(
            [
                "--broadcast": broadcast, "--control": control, "--rounds": "\(rounds)",
                "--wait-for-workers": "\(waitForWorkers)", "--round-timeout-ms": "\(roundTimeoutMillis)",
                "--state-dir": stateDirectory.path, "--aggregator-timeout-ms": "1000",
                "--worker-timeout-ms": "3000", "--republish-ms": "100", "--holdout": "synthetic",
            ],
            Self.learningFlags,
            overrides
        )
        return try children.launch(name: name, arguments: ["coordinator"] + flags + securityFlags(for: "coordinator"))
    }

    /// Starts the global aggregator.
    @discardableResult
    public func startGlobal(overrides: KeyValuePairs<String, String> = [:]) throws -> ChildProcesses.Child {
        let flags = Self.merge(["--tier": "global", "--heartbeat-ms": "200", "--grace-ms": "500"], overrides)
        return try children.launch(
            name: "global",
            arguments: ["aggregator"] + flags + coordinatorEndpoints + securityFlags(for: "global")
        )
    }

    /// Starts one regional shard.
    @discardableResult
    public func startShard(
        region: String,
        shard: Int = 0,
        overrides: KeyValuePairs<String, String> = [:]
    ) throws -> ChildProcesses.Child {
        let flags = Self.merge(
            ["--tier": "region", "--region": region, "--shard": "\(shard)", "--heartbeat-ms": "200"],
            overrides
        )
        let id = "region-\(region)-\(shard)"
        return try children.launch(
            name: id,
            arguments: ["aggregator"] + flags + coordinatorEndpoints + securityFlags(for: id)
        )
    }

    /// Starts an edge process hosting `devices` devices `<class>-<firstUser>` … of one class.
    ///
    /// - Parameter edgeKey: in a secure hierarchy, the enrolled name `E` of an `edge:<class>` key
    ///   (an extra party) the process speaks with: its devices are then `E/<class>-<user>` over
    ///   shared sockets. Nil: one `device:<class>` key per device, from the key folder.
    @discardableResult
    public func startEdge(
        name: String,
        deviceClass: String,
        devices: Int,
        firstUser: Int,
        edgeKey: String? = nil,
        overrides: KeyValuePairs<String, String> = [:]
    ) throws -> ChildProcesses.Child {
        let flags = Self.merge(
            [
                "--device-class": deviceClass, "--devices": "\(devices)", "--first-user": "\(firstUser)",
                "--checkin-ms": "300",
            ],
            Self.learningFlags,
            overrides
        )
        let security =
            edgeKey.map(securityFlags(for:))
            ?? keys.map { ["--curve-key-dir", $0.path, "--enrolment", $0.enrolmentPath] } ?? ["--insecure"]
        return try children.launch(name: name, arguments: ["edge"] + flags + coordinatorEndpoints + security)
    }

    /// The ids an edge started with `devices` and `firstUser` hosts.
    public static func deviceIds(deviceClass: String, devices: Int, firstUser: Int) -> [String] {
        (firstUser..<(firstUser + devices)).map { "\(deviceClass)-\($0)" }
    }

    /// Waits until `text` appears in a child's log: some states (an enrolment reload) show
    /// nowhere else (a ``Poll`` of the log file).
    public func waitForLog(_ text: String, in child: ChildProcesses.Child, within timeout: Duration) async throws {
        try await Poll.require("\"\(text)\" in \(child.name)'s log", within: timeout) {
            ((try? String(contentsOf: child.logFile, encoding: .utf8)) ?? "").contains(text)
        }
    }

    /// Removes `name`'s line from the enrolment file, as an operator revoking a key would
    /// (atomically), and waits until `reader` has reloaded it.
    public func revoke(_ name: String, reloadedBy reader: ChildProcesses.Child) async throws {
        guard let keys else { throw TimedOut(waitingFor: "an enrolment file (the hierarchy is insecure)", seen: "") }
        let text = try String(contentsOfFile: keys.enrolmentPath, encoding: .utf8)
        let kept = text.split(separator: "\n").filter { !$0.hasPrefix("\(name) ") }
        try Data((kept.joined(separator: "\n") + "\n").utf8)
            .write(to: URL(fileURLWithPath: keys.enrolmentPath), options: .atomic)
        try await waitForLog("enrolment reloaded", in: reader, within: .seconds(10))
    }

    // MARK: Faults and teardown

    /// A ``BroadcastObserver`` of this hierarchy's coordinator (with the observer key when
    /// secure) whose waits fail as soon as any child exits with an error on its own, with that
    /// child's name, status and last error line, instead of running into their timeouts.
    public func observer() async throws -> BroadcastObserver {
        let observer = try await BroadcastObserver(endpoint: broadcast, security: try observerSecurity())
        children.onFailure { failure in observer.abort("\(failure)") }
        return observer
    }

    /// SIGKILL, as a crash or a pulled plug would; returns once the process is gone.
    public func kill(_ child: ChildProcesses.Child) {
        children.kill(child)
    }

    public func isRunning(_ child: ChildProcesses.Child) -> Bool { children.isRunning(child) }

    /// Stops every child (SIGTERM, SIGKILL after `grace`) without blocking the caller's thread pool.
    public func shutdown(grace: Duration = .seconds(3)) async {
        let children = self.children
        _ = try? await onOwnThread("e2e-shutdown") { children.stopAll(grace: grace) }
    }

    /// The last `lines` lines of every child's log, for a failure message.
    public func logTail(lines: Int = 25) -> String {
        children.all.map { child in
            let text = (try? String(contentsOf: child.logFile, encoding: .utf8)) ?? "(no log)"
            let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(
                separator: "\n"
            )
            return "── \(child.name) (pid \(child.pid)) \(child.logFile.path)\n\(tail)"
        }.joined(separator: "\n")
    }

    /// Runs `body`; an error it throws comes back with every child's log tail attached.
    public func diagnosing<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw Diagnosed(underlying: error, logs: logTail())
        }
    }

    /// An error of a test body together with what the processes logged.
    public struct Diagnosed: Error, CustomStringConvertible {
        public let underlying: any Error
        public let logs: String
        public var description: String { "\(underlying)\n\nprocess logs:\n\(logs)" }
    }

    /// `flag value` pairs, later groups replacing earlier ones flag by flag.
    static func merge(_ groups: KeyValuePairs<String, String>...) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        for group in groups {
            for (flag, value) in group {
                if values[flag] == nil { order.append(flag) }
                values[flag] = value
            }
        }
        return order.flatMap { [$0, values[$0] ?? ""] }
    }
}
