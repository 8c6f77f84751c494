import FedPulseTestSupport
import Foundation
import Runtime
import Testing

/// `fedpulse lab plan`: a topology file becomes, purely, every process's host, endpoints, keys
/// and exact command line; the command lines are checked against the built binary.
///
/// Three minutes: the checks run beside the whole suite (this suite is not serialized with the
/// hierarchies), and on a saturated two-core machine the `--help` runs took 77 s in one CI run.
@Suite(.timeLimit(.minutes(3)))
struct LabPlanTests {
    static let sample = FedPulseBinary.repositoryRoot().appendingPathComponent("deploy/lab/three-hosts.yaml")

    static func samplePlan() throws -> LabPlan { LabPlan(try LabTopology.load(path: sample.path)) }

    static func port(of endpoint: String) -> Int? {
        endpoint.split(separator: ":").last.map { $0.prefix { $0.isNumber } }.flatMap { Int($0) }
    }

    @Test func theSampleTopologyPlacesEveryRoleOnItsHost() throws {
        let plan = try Self.samplePlan()
        let placement = Dictionary(uniqueKeysWithValues: plan.hosts.map { ($0.name, $0.processes.map(\.name)) })
        #expect(placement["lab1"] == ["auditor", "coordinator"])
        #expect(placement["lab2"] == ["global", "region-watch-0", "region-phone-0", "edge-watch-0", "edge-tablet-0"])
        #expect(placement["lab3"] == ["region-watch-1", "region-tablet-0", "edge-watch-1", "edge-phone-0"])
        #expect(
            Set(plan.processes.map(\.name)).count == plan.processes.count,
            "two processes share a name (log and pid files)"
        )
    }

    /// Roles bind the host's address from the file, never loopback, and no port twice on a host.
    @Test func everyProcessBindsItsHostsAddressOnAPortOfItsOwn() throws {
        let plan = try Self.samplePlan()
        for host in plan.hosts {
            var ports: [Int: String] = [:]
            for process in host.processes {
                for (purpose, endpoint) in process.binds {
                    #expect(
                        endpoint.contains("//\(host.address):"),
                        "\(process.name) binds \(purpose) on \(endpoint), not \(host.address)"
                    )
                    let port = try #require(Self.port(of: endpoint), "\(endpoint) has no port")
                    #expect(
                        ports[port] == nil,
                        "\(process.name) and \(ports[port] ?? "") both use port \(port) on \(host.name)"
                    )
                    ports[port] = process.name
                }
                #expect(
                    !process.arguments.contains { $0.contains("127.0.0.1") || $0.contains("localhost") },
                    "\(process.name) uses loopback"
                )
            }
        }
    }

    /// Every endpoint a process connects to is one another process binds, on the right host.
    @Test func everyConnectionReachesAPlannedBind() throws {
        let plan = try Self.samplePlan()
        let bound = Set(plan.processes.flatMap { $0.binds.values })
        for process in plan.processes {
            for endpoint in process.connects {
                #expect(bound.contains(endpoint), "\(process.name) connects to \(endpoint), which nothing binds")
            }
        }
        let coordinator = try #require(plan.processes.first { $0.name == "coordinator" })
        #expect(coordinator.connects == ["tcp://198.51.100.11:7300", "tcp://198.51.100.11:7301"])
        #expect(plan.ledgerEndpoint == "tcp://198.51.100.11:7301")
    }

    @Test func shardsAreNumberedPerClassAndEdgesGetDisjointDevices() throws {
        let plan = try Self.samplePlan()
        let shards = plan.processes.filter { $0.name.hasPrefix("region-") }
        for shard in shards {
            let index = try #require(shard.arguments.firstIndex(of: "--shard"))
            #expect(shard.name.hasSuffix("-\(shard.arguments[index + 1])"))
        }
        var devices: Set<String> = []
        var users: Set<String> = []
        for edge in plan.processes where edge.name.hasPrefix("edge-") {
            #expect(!edge.devices.isEmpty)
            for device in edge.devices {
                // Under the edge's own key, so an edge key speaks for exactly its devices.
                #expect(device.hasPrefix("\(edge.name)/"), "\(edge.name) hosts \(device)")
                #expect(devices.insert(device).inserted, "device \(device) is hosted twice")
                let user = device.split(separator: "/").last.map(String.init) ?? ""
                #expect(users.insert(user).inserted, "synthetic user \(user) is used twice")
            }
        }
        #expect(devices.count == 55)
        #expect(users.contains("watch-20") && users.contains("watch-39") && !users.contains("watch-40"))
    }

    /// Under CURVE the enrolment lists every party once, in the role its messages need, and each
    /// process is given exactly the keys it uses.
    @Test func theEnrolmentCoversEveryPartyAndEveryProcessHasItsKeys() throws {
        let plan = try Self.samplePlan()
        #expect(plan.curve)
        let roles = Dictionary(plan.parties.map { ($0.name, $0.role) }) { first, _ in first }
        #expect(roles.count == plan.parties.count, "a party is enrolled twice")
        #expect(roles["coordinator"] == "coordinator" && roles["auditor"] == "auditor" && roles["global"] == "global")
        #expect(roles["region-watch-1"] == "shard:watch" && roles["edge-tablet-0"] == "edge:tablet")
        // One edge key per edge process, no per-device keys.
        #expect(!roles.values.contains { $0.hasPrefix("device:") })
        #expect(roles[LabPlan.observerName] == "observer")
        for process in plan.processes {
            for key in process.keys {
                #expect(roles[key] != nil, "\(process.name) needs \(key), which is not enrolled")
            }
            #expect(process.arguments.contains("--enrolment"))
            #expect(process.keys == [process.name], "\(process.name) is given keys \(process.keys)")
        }
    }

    @Test func insecureTopologiesSayItOnEveryCommandLine() throws {
        let text = try String(contentsOf: Self.sample, encoding: .utf8).replacingOccurrences(
            of: "transport: curve",
            with: "transport: insecure"
        )
        let plan = LabPlan(try LabTopology.parse(text, source: "insecure.yaml"))
        #expect(!plan.curve && plan.parties.isEmpty)
        for process in plan.processes {
            #expect(process.arguments.contains("--insecure") && !process.arguments.contains("--enrolment"))
        }
    }

    @Test func everyPlannedCommandLineParsesWithTheBuiltBinary() async throws {
        var commandLines = try DeploymentCommandLines()
        for process in try Self.samplePlan().processes {
            try await commandLines.check(process.arguments, in: "lab process \(process.name)")
        }
    }

    @Test func theCommandPrintsThePlanAsTextAndJSON() async throws {
        let binary = try FedPulseBinary.locate()
        let text = try await ShortCommand.run(binary, ["lab", "plan", Self.sample.path])
        #expect(text.status == 0, "\(text.text)")
        #expect(
            text.text.contains("host lab3 198.51.100.13")
                && text.text.contains("fedpulse audit tail --connect tcp://198.51.100.11:7301")
        )
        let json = try await ShortCommand.run(binary, ["lab", "plan", Self.sample.path, "--json"])
        #expect(json.status == 0)
        let decoded = try JSONDecoder().decode(LabPlan.self, from: Data(json.text.utf8))
        #expect(decoded == (try Self.samplePlan()))
    }

    static let base = """
        name: t
        hosts: [{name: a, address: 10.0.0.1}]
        roles:
          coordinator: {host: a}
          global: {host: a}
          shards: [{host: a, class: watch}]
          edges: [{host: a, class: watch, devices: 2}]
        """

    @Test(arguments: [
        (
            "hosts: [{name: a, address: 10.0.0.1}]",
            "hosts: [{name: a, address: 10.0.0.1}, {name: a, address: 10.0.0.2}]", "listed twice"
        ),
        ("coordinator: {host: a}", "coordinator: {host: b}", "which hosts does not list"),
        ("class: watch}]\n  edges", "class: fridge}]\n  edges", "not watch, phone or tablet"),
        ("shards: [{host: a, class: watch}]", "shards: [{host: a, class: phone}]", "no shard to send to"),
        ("devices: 2", "devices: 0", "devices (1–10000)"),
        ("name: t", "name: t\ntransport: plain", "curve or insecure"),
        ("address: 10.0.0.1", "address: '10.0.0.1; rm -rf /'", "no usable address"),
        ("name: t", "name: [t", "not a lab topology"),
    ])
    func topologyMistakesAreRejectedWithAReason(_ replacing: String, _ with: String, _ reason: String) throws {
        #expect(throws: Never.self) { _ = try LabTopology.parse(Self.base, source: "t.yaml") }
        let broken = Self.base.replacingOccurrences(of: replacing, with: with)
        #expect(broken != Self.base)
        let error = #expect(throws: LabError.self) { _ = try LabTopology.parse(broken, source: "t.yaml") }
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func argumentsAreQuotedForTheRemoteShell() {
        #expect(LabPlan.shellQuoted("tcp://10.0.0.1:7001") == "tcp://10.0.0.1:7001")
        #expect(LabPlan.shellQuoted("a b'c") == "'a b'\\''c'")
        #expect(LabPlan.shellQuoted("$(reboot)") == "'$(reboot)'")
        #expect(LabPlan.shellQuoted("") == "''")
    }
}
