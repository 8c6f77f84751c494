import FedPulseTestSupport
import Foundation
import Logging
import Testing
import ZeroMQ

@testable import Runtime

struct EnrolmentTests {
    static let key = String(repeating: "a", count: 40)

    @Test func parsesNamesRolesAndKeysIgnoringComments() throws {
        let text = """
            # name role key
            coordinator coordinator \(Self.key)
            region-watch-0  shard:watch   \(String(repeating: "b", count: 40))  # the watch shard
            """
        let enrolment = try Enrolment(parsing: text)
        #expect(enrolment.entries.map(\.name) == ["coordinator", "region-watch-0"])
        #expect(enrolment.role(of: "region-watch-0") == "shard:watch")
        #expect(enrolment.allowlist.name(forPublicKey: Self.key) == "coordinator")
    }

    @Test(arguments: [
        ("watch-3 device:watch", "expected `name role public-key`"),
        ("watch\u{7}3 device:watch \(key)", "is not 1…128 characters"),
        ("watch-3 device:ring \(key)", "is not coordinator, auditor"),
        ("watch-3 device:watch short", "is not 40 Z85 characters"),
        ("watch-3 device:watch \(key)\nwatch-3 device:watch \(String(repeating: "c", count: 40))", "enrolled twice"),
        ("watch-3 device:watch \(key)\nwatch-4 device:watch \(key)", "under another name"),
    ])
    func aBrokenLineIsRefusedNamingItsLine(text: String, message: String) {
        #expect {
            try Enrolment(parsing: text, source: "enrolment.txt")
        } throws: { error in
            "\(error)".contains(message) && "\(error)".hasPrefix("enrolment.txt:")
        }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct TransportSecurityTests {
    /// Revocation without a restart: the enrolment file loses a key, the role reloads it, and
    /// that key's next connection is refused while the others still get through.
    @Test func removingAKeyFromTheEnrolmentFileRefusesItsNextConnection() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fp-enrol-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try CurveKeyPair.generate()
        let watch3 = try CurveKeyPair.generate()
        let watch4 = try CurveKeyPair.generate()
        let path = directory.appendingPathComponent("enrolment.txt").path
        let secretFile = directory.appendingPathComponent("server.key").path
        try Data((server.secretKey + "\n").utf8).write(to: URL(fileURLWithPath: secretFile))
        for (name, keys) in [("region-watch-0", server), ("watch-3", watch3), ("watch-4", watch4)] {
            try Enrolment.append(
                name: name,
                role: name.hasPrefix("region") ? "shard:watch" : "device:watch",
                publicKey: keys.publicKey,
                to: path
            )
        }
        let security = try TransportSecurity.curve(secretKeyFile: secretFile, enrolmentFile: path)
        let context = try Context()
        let logger = Logger(label: "test")
        try security.start(context: context, logger: logger)
        defer { security.stop() }
        let pull = try Socket(context, type: .pull)
        try pull.setLinger(0)
        try security.secureServer(pull)
        let endpoint = try pull.bindResolved("tcp://127.0.0.1:*")

        func send(_ text: String, as keys: CurveKeyPair) throws -> Socket {
            let push = try Socket(context, type: .push)
            try push.setLinger(0)
            try security.secureClient(push, of: "region-watch-0", as: keys)
            try push.connect(endpoint)
            try push.send([Array(text.utf8)], dontWait: true)
            return push
        }
        func receive() throws -> (frames: [[UInt8]], userId: String?)? {
            var items = [pull.pollItem()]
            guard try poll(&items, timeout: .seconds(5)) > 0 else { return nil }
            return try pull.receiveWithUserId(dontWait: true)
        }
        let first = try send("before", as: watch3)
        #expect(try receive()?.userId == "watch-3")
        _ = first

        let text = try String(contentsOfFile: path, encoding: .utf8)
        try Data(text.split(separator: "\n").filter { !$0.hasPrefix("watch-3 ") }.joined(separator: "\n").utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect(security.reload(logger: logger))
        #expect(security.current.publicKey(of: "watch-3") == nil)
        let revoked = try send("after revocation", as: watch3)
        let marker = try send("marker", as: watch4)
        let next = try #require(try receive())
        #expect(next.frames == [Array("marker".utf8)] && next.userId == "watch-4")
        var items = [pull.pollItem()]
        #expect(try poll(&items, timeout: .milliseconds(0)) == 0)
        _ = revoked
        _ = marker
    }

    @Test func aClientOfAServerThatIsNotEnrolledFailsWithAClearError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fp-enrol-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try CurveKeyPair.generate()
        let path = directory.appendingPathComponent("enrolment.txt").path
        try Enrolment.append(name: "watch-3", role: "device:watch", publicKey: keys.publicKey, to: path)
        let security = try TransportSecurity(mode: .curve(keys: keys, enrolmentPath: path))
        let context = try Context()
        let push = try Socket(context, type: .push)
        #expect {
            try security.secureClient(push, of: "coordinator")
        } throws: { "\($0)".contains("coordinator is not in the enrolment file") }
    }

    /// A Kubernetes ConfigMap volume updates by swapping the `..data` symlink to a new folder;
    /// the file path the role watches is itself a link whose own attributes never change. The
    /// watcher must follow the links and reload (polled on the live allowlist, 10 s bound).
    @Test func aConfigMapStyleSymlinkSwapIsReloaded() async throws {
        let manager = FileManager.default
        let directory = manager.temporaryDirectory.appendingPathComponent("fp-enrol-\(UUID().uuidString)")
        defer { try? manager.removeItem(at: directory) }
        let server = try CurveKeyPair.generate()
        let device = try CurveKeyPair.generate()
        for (version, parties) in [
            ("..v1", [("coordinator", server), ("watch-3", device)]), ("..v2", [("coordinator", server)]),
        ] {
            let folder = directory.appendingPathComponent(version)
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            for (name, keys) in parties {
                let role = name == "coordinator" ? "coordinator" : "device:watch"
                try Enrolment.append(
                    name: name,
                    role: role,
                    publicKey: keys.publicKey,
                    to: folder.appendingPathComponent("enrolment.txt").path
                )
            }
        }
        let data = directory.appendingPathComponent("..data")
        try manager.createSymbolicLink(atPath: data.path, withDestinationPath: "..v1")
        let path = directory.appendingPathComponent("enrolment.txt").path
        try manager.createSymbolicLink(atPath: path, withDestinationPath: "..data/enrolment.txt")
        let security = try TransportSecurity(mode: .curve(keys: server, enrolmentPath: path))
        let context = try Context()
        try security.start(context: context, logger: Logger(label: "test"))
        defer { security.stop() }
        #expect(security.current.publicKey(of: "watch-3") == device.publicKey)
        // The kubelet's swap: a new link, renamed over ..data in one step.
        let next = directory.appendingPathComponent("..data_tmp")
        try manager.createSymbolicLink(atPath: next.path, withDestinationPath: "..v2")
        guard rename(next.path, data.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        _ = try await Poll.until(within: .seconds(10)) { security.current.publicKey(of: "watch-3") == nil }
        #expect(security.current.publicKey(of: "watch-3") == nil)
        #expect(security.stillAdmits(name: "watch-3", publicKey: device.publicKey) == false)
    }

    /// The watcher compares with the file as it was loaded, not as it is when the watcher thread
    /// first runs: a revocation written between loading and the thread's start (a loaded
    /// machine starts threads late) is still reloaded. Played deterministically: the file
    /// changes before `start`.
    @Test func aChangeBeforeTheWatcherRunsIsStillReloaded() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fp-enrol-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try CurveKeyPair.generate()
        let device = try CurveKeyPair.generate()
        let path = directory.appendingPathComponent("enrolment.txt").path
        try Enrolment.append(name: "coordinator", role: "coordinator", publicKey: server.publicKey, to: path)
        try Enrolment.append(name: "watch-3", role: "device:watch", publicKey: device.publicKey, to: path)
        let security = try TransportSecurity(mode: .curve(keys: server, enrolmentPath: path))
        #expect(security.current.publicKey(of: "watch-3") == device.publicKey)
        try Data("coordinator coordinator \(server.publicKey)\n".utf8).write(to: URL(fileURLWithPath: path))
        let context = try Context()
        try security.start(context: context, logger: Logger(label: "test"))
        defer { security.stop() }
        _ = try await Poll.until(within: .seconds(10)) { security.current.publicKey(of: "watch-3") == nil }
        #expect(security.current.publicKey(of: "watch-3") == nil)
    }
}
