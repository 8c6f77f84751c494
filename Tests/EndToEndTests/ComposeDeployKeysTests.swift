import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import ZeroMQ

/// `scripts/deploy-keys.sh`, the one command that makes a compose or Kubernetes deployment's
/// keys: every party of the hierarchy enrolled with its role, secret keys for their owner only,
/// no silent regeneration over a live deployment's keys, and revocation by name.
@Suite(.timeLimit(.minutes(2)))
struct ComposeDeployKeysTests {
    static func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("fedpulse-keys-\(UUID().uuidString.prefix(8))")
    }

    static func mode(of path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require((attributes[.posixPermissions] as? NSNumber)?.intValue)
    }

    @Test func everyPartyIsEnrolledWithItsRoleAndItsSecretKeyIsItsOwnersOnly() async throws {
        let folder = Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let keys = try await DeploymentKeys.make(in: folder, shards: ["watch": 3])
        let roles = try keys.roles()
        var expected = [
            "coordinator": "coordinator", "auditor": "auditor", "global": "global", "observer": "observer",
            "region-watch-0": "shard:watch", "region-watch-1": "shard:watch", "region-watch-2": "shard:watch",
            "region-phone-0": "shard:phone", "region-tablet-0": "shard:tablet",
        ]
        for deviceClass in ["watch", "phone", "tablet"] { expected["edge-\(deviceClass)"] = "edge:\(deviceClass)" }
        #expect(roles == expected)
        let enrolment = try Enrolment.load(path: keys.enrolmentPath)
        #expect(try Self.mode(of: folder.appendingPathComponent("secret").path) == 0o700)
        for entry in enrolment.entries {
            let secret = keys.secretKeyPath(of: entry.name)
            #expect(try Self.mode(of: secret) == 0o600, "\(secret) is not owner-only")
            // The key file really is the enrolled party's: its public key is the enrolled one.
            #expect(try KeyDirectory.readKeyPair(file: secret).publicKey == entry.publicKey)
        }
        let secrets = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("secret").path)
        #expect(secrets.allSatisfy { $0.hasSuffix(".key") }, "public files among the secrets: \(secrets)")
    }

    @Test func aSecondRunDoesNotReplaceADeploymentsKeys() async throws {
        let folder = Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let keys = try await DeploymentKeys.make(in: folder)
        let before = try String(contentsOfFile: keys.enrolmentPath, encoding: .utf8)
        let again = try await DeploymentKeys.run([folder.path])
        #expect(again.status != 0, "a second run over existing keys succeeded: \(again.text)")
        #expect(again.text.contains("already holds keys"))
        #expect(try String(contentsOfFile: keys.enrolmentPath, encoding: .utf8) == before)
    }

    @Test func revokingRemovesOnePartyAndItsKeyAndKeepsTheRest() async throws {
        let folder = Self.scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let keys = try await DeploymentKeys.make(in: folder)
        let before = try keys.roles()
        let revoked = try await DeploymentKeys.run(["--revoke", "edge-watch", folder.path])
        #expect(revoked.status == 0, "\(revoked.text)")
        var expected = before
        expected["edge-watch"] = nil
        #expect(try keys.roles() == expected)
        #expect(!FileManager.default.fileExists(atPath: keys.secretKeyPath(of: "edge-watch")))
        #expect(FileManager.default.fileExists(atPath: keys.secretKeyPath(of: "edge-phone")))

        let typo = try await DeploymentKeys.run(["--revoke", "edge-wach", folder.path])
        #expect(typo.status != 0, "revoking a name that is not enrolled succeeded: \(typo.text)")
        #expect(try keys.roles() == expected)
    }
}
