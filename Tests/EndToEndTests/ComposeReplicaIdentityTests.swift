import FedPulseTestSupport
import Foundation
import Runtime
import Testing

/// Scaled compose replicas on host networking share one host name, so `--id-prefix watch-{host}`
/// gave them all the same device ids. `{replica}` must differ between replicas on the same host
/// and stay the same when one replica restarts.
@Suite(.timeLimit(.minutes(1)))
struct ComposeReplicaIdentityTests {
    /// A deterministic generator, so "two replicas differ" does not rest on luck.
    struct Counter: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            return state
        }
    }

    static func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("fedpulse-replica-\(UUID().uuidString.prefix(8))")
    }

    @Test func aReplicaKeepsItsIdAcrossRestartsAndAnotherGetsItsOwn() throws {
        let folder = Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = Counter(state: 1)
        let first = try ReplicaIdentity.token(
            file: folder.appendingPathComponent("a/replica-id").path,
            using: &generator
        )
        let again = try ReplicaIdentity.token(
            file: folder.appendingPathComponent("a/replica-id").path,
            using: &generator
        )
        let other = try ReplicaIdentity.token(
            file: folder.appendingPathComponent("b/replica-id").path,
            using: &generator
        )
        #expect(first == again)
        #expect(first != other)
        #expect(first.count == 8 && first.allSatisfy(\.isHexDigit))
    }

    @Test func aDamagedIdFileIsRefusedNotReplaced() throws {
        let folder = Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("replica-id")
        try Data("../../etc\n".utf8).write(to: file)
        var generator = Counter(state: 1)
        #expect(throws: LabError.self) { _ = try ReplicaIdentity.token(file: file.path, using: &generator) }
        #expect(try String(contentsOf: file, encoding: .utf8) == "../../etc\n")
    }

    /// The edge's log label names its id prefix (`fedpulse.edge-<prefix>`): started, read, stopped.
    static func prefix(of arguments: [String], in children: ChildProcesses, name: String) async throws -> String? {
        let child = try children.launch(name: name, arguments: arguments)
        defer { children.kill(child) }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let log = (try? String(contentsOf: child.logFile, encoding: .utf8)) ?? ""
            if let range = log.range(of: "fedpulse.edge-") {
                let prefix = log[range.upperBound...].prefix { !$0.isWhitespace && $0 != ":" }
                return String(prefix)
            }
            try await Task.sleep(for: .milliseconds(100))  // the next look at the log
        }
        return nil
    }

    @Test func twoReplicasOnOneHostGetDifferentDeviceIdsAndARestartKeepsThem() async throws {
        let folder = Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let children = try ChildProcesses(
            executable: try FedPulseBinary.locate(),
            logDirectory: folder.appendingPathComponent("logs")
        )
        defer { children.stopAll(grace: .seconds(1)) }
        let ports = try FreePorts.pick(2)
        func edge(_ prefix: String, replicaFile: String) -> [String] {
            [
                "edge", "--device-class", "watch", "--devices", "2", "--id-prefix", prefix, "--replica-file",
                replicaFile,
                "--coordinator-broadcast", "tcp://127.0.0.1:\(ports[0])", "--coordinator-control",
                "tcp://127.0.0.1:\(ports[1])",
                "--insecure",
            ]
        }
        let fileA = folder.appendingPathComponent("a/replica-id").path
        let fileB = folder.appendingPathComponent("b/replica-id").path
        let a = try await Self.prefix(of: edge("watch-{replica}", replicaFile: fileA), in: children, name: "a")
        let b = try await Self.prefix(of: edge("watch-{replica}", replicaFile: fileB), in: children, name: "b")
        let aRestarted = try await Self.prefix(
            of: edge("watch-{replica}", replicaFile: fileA),
            in: children,
            name: "a2"
        )
        #expect(a != nil && b != nil)
        #expect(a != b, "two replicas on one host share device ids: \(String(describing: a))")
        #expect(
            a == aRestarted,
            "a restarted replica changed its ids: \(String(describing: a)) → \(String(describing: aRestarted))"
        )
        // What compose used to do: {host} is the same for both replicas on host networking.
        let hostA = try await Self.prefix(of: edge("watch-{host}", replicaFile: fileA), in: children, name: "ha")
        let hostB = try await Self.prefix(of: edge("watch-{host}", replicaFile: fileB), in: children, name: "hb")
        #expect(hostA == hostB && hostA != nil)
    }
}
