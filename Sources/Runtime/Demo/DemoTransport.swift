import Foundation
import Learning

/// The demo's transport security: throwaway CURVE keys for every process and every device of
/// this run, in `REPORT/keys`, with the enrolment file that makes them the only ones admitted.
///
/// On by default, as in compose, lab and Kubernetes; `--insecure` turns it off, and then every
/// role's log line and the report say so.
struct DemoTransport {
    let keys: KeyDirectory?

    /// The name the demo's own broadcast follower is enrolled under.
    static let observerName = "demo-observer"

    /// Writes a key pair per party (coordinator, auditor, global, every shard, one edge
    /// key per edge process, the demo's follower) and the enrolment file; `nil` keys when insecure.
    init(config: DemoConfig, layout: DemoLayout) throws {
        guard !config.insecure else {
            keys = nil
            return
        }
        var parties: [(name: String, role: String)] = [
            ("coordinator", "coordinator"), ("global", "global"), (Self.observerName, "observer"),
        ]
        if config.privacy != nil { parties.append(("auditor", "auditor")) }
        for shard in config.shards { parties.append((shard.key, "shard:\(shard.deviceClass.rawValue)")) }
        // One edge key per edge process: its devices are `<edge name>/<class>-<user>`.
        for edge in layout.edges { parties.append((edge.name, "edge:\(edge.deviceClass.rawValue)")) }
        let directory = config.reportDirectory.appendingPathComponent("keys").path
        try? FileManager.default.removeItem(atPath: directory)
        keys = try KeyDirectory.create(at: directory, parties: parties)
    }

    var label: String { keys == nil ? "insecure" : "curve" }

    /// Flags of a process that holds one key (every role but an edge).
    func arguments(for name: String) -> [String] {
        guard let keys else { return ["--insecure"] }
        return ["--curve-secret-key", keys.secretKeyPath(of: name), "--enrolment", keys.enrolmentPath]
    }

    /// Flags of an edge process: its edge key, whose name prefixes its devices' ids.
    func edgeArguments(for edge: DemoLayout.EdgeProcess) -> [String] {
        guard let keys else { return ["--insecure"] }
        return ["--curve-secret-key", keys.secretKeyPath(of: edge.name), "--enrolment", keys.enrolmentPath]
    }

    /// The follower's own security, so it can read the CURVE broadcast like any enrolled observer.
    func observerSecurity() throws -> TransportSecurity {
        guard let keys else { return .insecure }
        return try TransportSecurity.curve(
            secretKeyFile: keys.secretKeyPath(of: Self.observerName),
            enrolmentFile: keys.enrolmentPath
        )
    }
}
