import FedPulseTestSupport
import Foundation
import Testing

/// `deploy/kubernetes` renders with `kubectl kustomize`, validates offline against the Kubernetes
/// schemas (`kubernetes-validate --strict`, which rejects unknown fields), and describes a
/// hierarchy that can actually run: real subcommands and flags, per-pod names for every ZeroMQ
/// peer, probes on the metrics endpoint, volumes where state lives.
///
/// Nothing is applied to a cluster (there is none on the build machine); the roles' command
/// lines are checked against the built binary's `--help`.
@Suite(.timeLimit(.minutes(2)))
struct KubernetesManifestTests {
    static let kustomizations = ["deploy/kubernetes/base", "deploy/kubernetes/overlays/example"]
    /// The oldest Kubernetes the manifests promise: the pod-index label that gives a shard its id is 1.28+.
    static let kubernetesVersion = "1.30.0"
    static let root = FedPulseBinary.repositoryRoot()
    static let roleStatefulSets = [
        "auditor", "coordinator", "aggregator-global", "shard-watch", "shard-phone", "shard-tablet",
    ]
    static let deviceClasses = ["watch", "phone", "tablet"]
    /// The shards per class the example overlay runs (and lists keys for).
    static let overlayShards = ["watch": 2]

    struct Rendered {
        let file: URL
        let objects: [[String: Any]]

        func objects(kind: String) -> [[String: Any]] { objects.filter { $0["kind"] as? String == kind } }
        func object(kind: String, name: String) -> [String: Any]? {
            objects(kind: kind).first { $0.string("metadata", "name") == name }
        }
        var workloads: [[String: Any]] { objects(kind: "StatefulSet") + objects(kind: "Deployment") }
    }

    static func tool(_ name: String) -> URL? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// `kubectl kustomize DIR`, written to a scratch file (the validator reads files) and parsed.
    ///
    /// An overlay generates its Secrets from keys that are never committed, so it renders from a
    /// scratch copy of `deploy/kubernetes` into which `scripts/deploy-keys.sh` wrote them, as the
    /// README tells a user to do first.
    static func render(_ kustomization: String) async throws -> Rendered {
        let kubectl = try #require(tool("kubectl"), "kubectl is not installed (it renders the Kustomize tree)")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fedpulse-k8s-tree-\(UUID().uuidString.prefix(8))"
        )
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: root.appendingPathComponent("deploy/kubernetes"), to: copy)
        let relative = String(kustomization.dropFirst("deploy/kubernetes".count))
        if kustomization.contains("/overlays/") {
            _ = try await DeploymentKeys.make(
                in: copy.appendingPathComponent(relative).appendingPathComponent("keys"),
                shards: overlayShards
            )
        }
        let output = try await ShortCommand.run(kubectl, ["kustomize", copy.path + relative])
        try #require(output.status == 0, "kubectl kustomize \(kustomization) failed: \(output.text)")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fedpulse-k8s-\(UUID().uuidString).yaml"
        )
        try Data(output.text.utf8).write(to: file)
        let objects = try await YAMLDocuments.load(file).compactMap { $0 as? [String: Any] }
        return Rendered(file: file, objects: objects)
    }

    static func validate(_ file: URL) async throws -> ShortCommand.Output {
        let validator = try #require(
            tool("kubernetes-validate"),
            "kubernetes-validate is missing: run scripts/deploy-deps.sh"
        )
        return try await ShortCommand.run(validator, ["--strict", "--quiet", "-k", kubernetesVersion, file.path])
    }

    @Test(arguments: kustomizations)
    func rendersAndValidatesAgainstTheKubernetesSchemas(_ kustomization: String) async throws {
        let rendered = try await Self.render(kustomization)
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        #expect(rendered.objects.count >= 16, "\(kustomization) rendered only \(rendered.objects.count) objects")
        let result = try await Self.validate(rendered.file)
        #expect(
            result.status == 0,
            "\(kustomization) does not validate against Kubernetes \(Self.kubernetesVersion): \(result.text)"
        )
    }

    /// The validator is strict: a misspelt field fails, so the check above can fail.
    @Test func theValidatorRejectsAMisspeltField() async throws {
        let rendered = try await Self.render("deploy/kubernetes/base")
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        let text = try String(contentsOf: rendered.file, encoding: .utf8)
        let broken = text.replacingOccurrences(of: "  serviceName: auditor\n", with: "  serviceNmae: auditor\n")
        #expect(broken != text)
        try Data(broken.utf8).write(to: rendered.file)
        let result = try await Self.validate(rendered.file)
        #expect(result.status != 0, "kubernetes-validate accepted an unknown field: \(result.text)")
    }

    @Test(arguments: kustomizations)
    func everyContainerRunsARealSubcommandWithFlagsItHas(_ kustomization: String) async throws {
        let rendered = try await Self.render(kustomization)
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        var commandLines = try DeploymentCommandLines()
        let configMaps = Dictionary(
            rendered.objects(kind: "ConfigMap").map {
                ($0.string("metadata", "name") ?? "", $0["data"] as? [String: String] ?? [:])
            },
            uniquingKeysWith: { first, _ in first }
        )
        for workload in rendered.workloads {
            for container in workload.containers {
                let place = "\(workload.name)/\(container.string("name") ?? "?")"
                let args = try #require(container["args"] as? [String], "\(place) has no args")
                #expect(container["command"] == nil, "\(place) overrides the image's fedpulse entrypoint")
                try await commandLines.check(args, in: place)
                var keys = ((container["env"] as? [[String: Any]]) ?? []).compactMap { $0.string("name") }
                for source in (container["envFrom"] as? [[String: Any]]) ?? [] {
                    let name = try #require(
                        source.string("configMapRef", "name"),
                        "\(place): envFrom without a configMapRef"
                    )
                    let data = try #require(configMaps[name], "\(place) loads ConfigMap \(name), which is not rendered")
                    keys += data.keys
                }
                try await commandLines.checkEnvironment(keys, of: args[0], in: place)
            }
        }
    }

    /// ZeroMQ connections are long-lived and kube-proxy balances per connection: every endpoint a
    /// role connects to, or announces, must be one pod's name under a headless Service.
    @Test(arguments: kustomizations)
    func peersAreReachedThroughPerPodNamesOfHeadlessServices(_ kustomization: String) async throws {
        let rendered = try await Self.render(kustomization)
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        var podNames: [String: Set<Int>] = [:]  // "<pod>.<service>" → its ports
        for name in Self.roleStatefulSets {
            let set = try #require(
                rendered.object(kind: "StatefulSet", name: name),
                "\(kustomization): no StatefulSet \(name)"
            )
            let serviceName = try #require(set.string("spec", "serviceName"), "\(name) names no serviceName")
            let service = try #require(
                rendered.object(kind: "Service", name: serviceName),
                "\(name): no Service \(serviceName)"
            )
            #expect(service.string("spec", "clusterIP") == "None", "Service \(serviceName) is not headless")
            let selector = try #require(service.dictionary("spec", "selector"))
            let labels = set.dictionary("spec", "template", "metadata", "labels") ?? [:]
            #expect(
                selector.allSatisfy { labels[$0.key] as? String == $0.value as? String },
                "Service \(serviceName) does not select \(name)'s pods"
            )
            let ports = Set(
                ((service.dictionary("spec")?["ports"] as? [[String: Any]]) ?? []).compactMap { $0["port"] as? Int }
            )
            for ordinal in 0..<((set.dictionary("spec")?["replicas"] as? Int) ?? 1) {
                podNames["\(name)-\(ordinal).\(serviceName)"] = ports
            }
        }
        for deviceClass in Self.deviceClasses {
            let edges = try #require(
                rendered.object(kind: "Deployment", name: "edge-\(deviceClass)"),
                "no edge-\(deviceClass) Deployment"
            )
            #expect(((edges.dictionary("spec")?["replicas"] as? Int) ?? 0) >= 1)
        }
        var endpointsSeen = 0
        for workload in rendered.workloads {
            for container in workload.containers {
                let args = (container["args"] as? [String]) ?? []
                let env = ((container["env"] as? [[String: Any]]) ?? []).compactMap { $0.string("value") }
                let configured = rendered.objects(kind: "ConfigMap").flatMap {
                    ($0["data"] as? [String: String] ?? [:]).values
                }
                for value in args + env + configured where value.hasPrefix("tcp://") && !value.hasPrefix("tcp://*") {
                    endpointsSeen += 1
                    let hostPort = value.dropFirst("tcp://".count).split(separator: ":")
                    let host = String(hostPort.first ?? "")
                    let port = hostPort.count == 2 ? Int(hostPort[1]) : nil
                    if host.hasPrefix("$(POD_NAME).") {
                        // A shard announces itself: its own pod name under its own headless Service.
                        #expect(
                            host == "$(POD_NAME).\(workload.string("spec", "serviceName") ?? "?")",
                            "\(workload.name) announces \(value)"
                        )
                        let podName = ((container["env"] as? [[String: Any]]) ?? []).first {
                            $0.string("name") == "POD_NAME"
                        }
                        #expect(podName?.string("valueFrom", "fieldRef", "fieldPath") == "metadata.name")
                        continue
                    }
                    let ports = podNames[host]
                    #expect(ports != nil, "\(workload.name) uses \(value), not a per-pod name of a headless Service")
                    #expect(
                        port.map { ports?.contains($0) ?? false } ?? false,
                        "\(workload.name): \(value) is not a port of \(host)'s Service"
                    )
                }
            }
        }
        #expect(endpointsSeen >= 6, "only \(endpointsSeen) endpoints were checked")
    }

    @Test(arguments: kustomizations)
    func shardsTakeTheirIdFromThePodOrdinal(_ kustomization: String) async throws {
        let rendered = try await Self.render(kustomization)
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        for deviceClass in Self.deviceClasses {
            let set = try #require(rendered.object(kind: "StatefulSet", name: "shard-\(deviceClass)"))
            let container = try #require(set.containers.first)
            let args = (container["args"] as? [String]) ?? []
            #expect(
                !args.contains("--shard"),
                "shard-\(deviceClass) fixes --shard; every replica would be the same shard"
            )
            let regionIndex = try #require(args.firstIndex(of: "--region"))
            #expect(args.indices.contains(regionIndex + 1) && args[regionIndex + 1] == deviceClass)
            let shard = ((container["env"] as? [[String: Any]]) ?? []).first { $0.string("name") == "FEDPULSE_SHARD" }
            #expect(
                shard?.string("valueFrom", "fieldRef", "fieldPath") == "metadata.labels['apps.kubernetes.io/pod-index']"
            )
        }
    }

    @Test(arguments: kustomizations)
    func everyContainerHasProbesOnItsMetricsEndpointAndResourceRequests(_ kustomization: String) async throws {
        let rendered = try await Self.render(kustomization)
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        for workload in rendered.workloads {
            for container in workload.containers {
                let args = (container["args"] as? [String]) ?? []
                let portIndex = try #require(
                    args.firstIndex(of: "--metrics-port"),
                    "\(workload.name) serves no metrics"
                )
                let metricsPort = try #require(args.indices.contains(portIndex + 1) ? Int(args[portIndex + 1]) : nil)
                let hostIndex = try #require(
                    args.firstIndex(of: "--metrics-host"),
                    "\(workload.name)'s metrics bind loopback only"
                )
                #expect(args.indices.contains(hostIndex + 1) && args[hostIndex + 1] == "0.0.0.0")
                let ports = (container["ports"] as? [[String: Any]]) ?? []
                let named = ports.first { $0["containerPort"] as? Int == metricsPort }
                #expect(named != nil, "\(workload.name) does not declare container port \(metricsPort)")
                for probe in ["livenessProbe", "readinessProbe"] {
                    let http = container.dictionary(probe, "httpGet")
                    #expect(http?["path"] as? String == "/metrics", "\(workload.name): \(probe) is not on /metrics")
                    let port = http?["port"]
                    #expect(
                        (port as? Int) == metricsPort
                            || (port as? String).map { $0 == named?["name"] as? String } == true,
                        "\(workload.name): \(probe) probes \(String(describing: port)), not the metrics port \(metricsPort)"
                    )
                }
                let requests = container.dictionary("resources", "requests") ?? [:]
                #expect(requests["cpu"] != nil && requests["memory"] != nil, "\(workload.name) requests no cpu/memory")
            }
        }
    }

    /// The ledger (privacy spent) and the coordinator's checkpoint must outlive a pod.
    @Test(arguments: kustomizations)
    func ledgerAndCheckpointLiveOnVolumeClaims(_ kustomization: String) async throws {
        let rendered = try await Self.render(kustomization)
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        for (name, flag) in [("auditor", "--ledger-file"), ("coordinator", "--state-dir")] {
            let set = try #require(rendered.object(kind: "StatefulSet", name: name))
            let container = try #require(set.containers.first)
            let args = (container["args"] as? [String]) ?? []
            let index = try #require(args.firstIndex(of: flag), "\(name) has no \(flag)")
            let path = try #require(args.indices.contains(index + 1) ? args[index + 1] : nil)
            let claims = Set(
                ((set.dictionary("spec")?["volumeClaimTemplates"] as? [[String: Any]]) ?? []).compactMap {
                    $0.string("metadata", "name")
                }
            )
            let mounts = (container["volumeMounts"] as? [[String: Any]]) ?? []
            let mount = mounts.first { mount in mount.string("mountPath").map { path.hasPrefix($0) } ?? false }
            #expect(
                mount.flatMap { $0.string("name") }.map(claims.contains) == true,
                "\(name)'s \(flag) \(path) is not on a volume claim"
            )
        }
    }

    @Test func theExampleOverlayScalesShardsAndEdgesInItsNamespace() async throws {
        let rendered = try await Self.render("deploy/kubernetes/overlays/example")
        defer { try? FileManager.default.removeItem(at: rendered.file) }
        #expect(rendered.object(kind: "StatefulSet", name: "shard-watch")?.dictionary("spec")?["replicas"] as? Int == 2)
        #expect(rendered.object(kind: "Deployment", name: "edge-watch")?.dictionary("spec")?["replicas"] as? Int == 6)
        for object in rendered.objects where object["kind"] as? String != "Namespace" {
            #expect(
                object.string("metadata", "namespace") == "fedpulse",
                "\(object.name) is outside the fedpulse namespace"
            )
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    /// The dictionary at `path`, or nil.
    func dictionary(_ path: String...) -> [String: Any]? { lookup(path) as? [String: Any] }
    /// The string at `path`, or nil.
    func string(_ path: String...) -> String? { lookup(path) as? String }

    private func lookup(_ path: [String]) -> Any? {
        var current: Any? = self
        for key in path { current = (current as? [String: Any])?[key] }
        return current
    }

    var name: String { string("metadata", "name") ?? "?" }
    /// A workload's pod template containers.
    var containers: [[String: Any]] {
        (dictionary("spec", "template", "spec")?["containers"] as? [[String: Any]]) ?? []
    }
}
