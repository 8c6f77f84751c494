import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import ZeroMQ

/// CURVE on Kubernetes: the example overlay, rendered with the keys `scripts/deploy-keys.sh`
/// made, gives every container its own secret key (read-only, nobody else may read it) and the
/// enrolment, each key is the one enrolled for that workload's role, and edges' device ids sit
/// under their edge key. No secret key is committed.
@Suite(.timeLimit(.minutes(2)))
struct KubernetesCurveTests {
    static let overlay = "deploy/kubernetes/overlays/example"

    /// Which party a workload is (`shard-watch` is every `region-watch-<ordinal>`).
    static func expectedRole(of workload: String) -> String? {
        switch workload {
        case "coordinator", "auditor": return workload
        case "aggregator-global": return "global"
        default:
            for deviceClass in KubernetesManifestTests.deviceClasses {
                if workload == "shard-\(deviceClass)" { return "shard:\(deviceClass)" }
                if workload == "edge-\(deviceClass)" { return "edge:\(deviceClass)" }
            }
            return nil
        }
    }

    static func value(of flag: String, in args: [String]) -> String? {
        args.firstIndex(of: flag).flatMap { args.indices.contains($0 + 1) ? args[$0 + 1] : nil }
    }

    /// The pod volume mounted read-only at the folder of `path`, and the mount.
    static func volume(holding path: String, container: [String: Any], workload: [String: Any]) -> [String: Any]? {
        let folder = (path as NSString).deletingLastPathComponent
        let mounts = (container["volumeMounts"] as? [[String: Any]]) ?? []
        guard let mount = mounts.first(where: { $0.string("mountPath") == folder }),
            mount["readOnly"] as? Bool == true
        else { return nil }
        let volumes = (workload.dictionary("spec", "template", "spec")?["volumes"] as? [[String: Any]]) ?? []
        return volumes.first { $0.string("name") == mount.string("name") }
    }

    @Test func everyContainerHasItsOwnEnrolledKeyReadOnlyAndTheEnrolment() async throws {
        let rendered = try await KubernetesManifestTests.render(Self.overlay)
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        let secrets = Dictionary(
            rendered.objects(kind: "Secret").map { ($0.name, ($0["data"] as? [String: String]) ?? [:]) },
            uniquingKeysWith: { first, _ in first }
        )
        let configMaps = Dictionary(
            rendered.objects(kind: "ConfigMap").map { ($0.name, ($0["data"] as? [String: String]) ?? [:]) },
            uniquingKeysWith: { first, _ in first }
        )
        var checked = 0
        for workload in rendered.workloads {
            let role = try #require(Self.expectedRole(of: workload.name), "which party is \(workload.name)?")
            let pod = workload.dictionary("spec", "template", "spec") ?? [:]
            let context = pod["securityContext"] as? [String: Any] ?? [:]
            #expect(context["runAsNonRoot"] as? Bool == true, "\(workload.name) may run as root")
            #expect(context["fsGroup"] as? Int == context["runAsGroup"] as? Int && context["fsGroup"] != nil)
            for container in workload.containers {
                let args = (container["args"] as? [String]) ?? []
                #expect(!args.contains("--insecure"), "\(workload.name) runs insecure")
                let keyPath = try #require(Self.value(of: "--curve-secret-key", in: args), "\(workload.name): no key")
                let enrolmentPath = try #require(Self.value(of: "--enrolment", in: args), "\(workload.name)")

                // The key: a Secret volume of this workload, read-only, no write bit, nothing for others.
                let keyVolume = try #require(
                    Self.volume(holding: keyPath, container: container, workload: workload),
                    "\(workload.name): \(keyPath) is not on a read-only volume"
                )
                let secretName = try #require(keyVolume.string("secret", "secretName"), "\(keyPath) is not a Secret")
                let mode = try #require(keyVolume.dictionary("secret")?["defaultMode"] as? Int)
                #expect(mode & 0o337 == 0, "\(workload.name): key mode \(String(mode, radix: 8)) allows too much")
                let keyData = try #require(
                    secrets[secretName],
                    "\(workload.name) mounts Secret \(secretName), not rendered"
                )

                // The enrolment: the generated ConfigMap, read-only.
                let enrolmentVolume = try #require(
                    Self.volume(holding: enrolmentPath, container: container, workload: workload),
                    "\(workload.name): \(enrolmentPath) is not on a read-only volume"
                )
                let mapName = try #require(enrolmentVolume.string("configMap", "name"))
                let enrolmentText = try #require(
                    configMaps[mapName]?[(enrolmentPath as NSString).lastPathComponent],
                    "\(workload.name): ConfigMap \(mapName) has no \(enrolmentPath)"
                )
                let enrolment = try Enrolment(parsing: enrolmentText)

                // Each pod's key file (a shard's depends on its ordinal) is enrolled with the role.
                let file = (keyPath as NSString).lastPathComponent
                let replicas = (workload.dictionary("spec")?["replicas"] as? Int) ?? 1
                let files =
                    file.contains("$(FEDPULSE_SHARD)")
                    ? (0..<replicas).map { file.replacingOccurrences(of: "$(FEDPULSE_SHARD)", with: "\($0)") } : [file]
                #expect(
                    !file.contains("$(")
                        || (container["env"] as? [[String: Any]] ?? []).contains {
                            $0.string("name") == "FEDPULSE_SHARD"
                        }
                )
                #expect(
                    keyData.count == files.count,
                    "\(secretName) holds other parties' keys: \(keyData.keys.sorted())"
                )
                for file in files {
                    let name = String(file.dropLast(".key".count))
                    #expect(enrolment.role(of: name) == role, "\(name) is not enrolled as \(role)")
                    let encoded = try #require(keyData[file], "\(secretName) has no \(file) for \(workload.name)")
                    let secret = String(decoding: try #require(Data(base64Encoded: encoded)), as: UTF8.self)
                    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                        "fedpulse-k8s-key-\(UUID().uuidString)"
                    )
                    defer { try? FileManager.default.removeItem(at: scratch) }
                    try Data(secret.utf8).write(to: scratch)
                    #expect(
                        try KeyDirectory.readKeyPair(file: scratch.path).publicKey == enrolment.publicKey(of: name),
                        "\(secretName)/\(file) is not the key enrolled as \(name)"
                    )
                }
                if args.first == "edge" {
                    let prefix = Self.value(of: "--id-prefix", in: args) ?? ""
                    #expect(
                        prefix.hasPrefix("\(workload.name)/") && prefix.contains("{host}"),
                        "\(workload.name): device ids \(prefix) are not pod-unique ids under its edge key"
                    )
                }
                checked += 1
            }
        }
        #expect(checked == 9, "checked \(checked) containers")
    }

    /// Keys are made per deployment, never committed: the overlay's key folder is ignored by git
    /// and no `.key` file is tracked anywhere under deploy/.
    @Test func noSecretKeyIsCommitted() async throws {
        let root = KubernetesManifestTests.root
        let git = try #require(KubernetesManifestTests.tool("git"), "git is not installed")
        let tracked = try await ShortCommand.run(git, ["-C", root.path, "ls-files", "deploy", "docker-compose.yml"])
        try #require(tracked.status == 0, "\(tracked.text)")
        let keys = tracked.text.split(separator: "\n").filter { $0.hasSuffix(".key") }
        #expect(keys.isEmpty, "secret keys are committed: \(keys)")
        for folder in ["\(Self.overlay)/keys/secret/coordinator.key", "deploy/keys/secret/coordinator.key"] {
            let ignored = try await ShortCommand.run(git, ["-C", root.path, "check-ignore", "-q", folder])
            #expect(ignored.status == 0, "\(folder) would not be ignored by git")
        }
    }
}
