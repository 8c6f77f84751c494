import Foundation
import Yams

/// The lab-machine topology file: which hosts exist and which roles run on each.
///
/// It names only what differs between labs (addresses, ssh logins, where each role goes, how many
/// devices an edge hosts); ports, endpoints, device-id ranges and key files follow from it in
/// ``LabPlan``, so nothing is configured twice and two roles cannot disagree on an endpoint.
public struct LabTopology: Decodable, Sendable, Equatable {
    public struct Host: Decodable, Sendable, Equatable {
        public var name: String
        /// The address every role on this host binds and every peer connects to.
        public var address: String
        /// The ssh login (default: the operator's own user name, as ssh does).
        public var user: String?
        /// An ssh identity file (`ssh -i`).
        public var key: String?
        /// The ssh port (default 22).
        public var sshPort: Int?
    }

    /// One role process; `args` are extra flags appended to the planned command line.
    public struct Role: Decodable, Sendable, Equatable {
        public var host: String
        public var args: [String]?
    }

    public struct Auditor: Decodable, Sendable, Equatable {
        public var host: String
        public var epsilonBudget: Double?
        public var delta: Double?
        public var args: [String]?
    }

    public struct Shard: Decodable, Sendable, Equatable {
        public var host: String
        /// The device class it serves: watch, phone or tablet.
        public var `class`: String
        public var args: [String]?
    }

    public struct Edge: Decodable, Sendable, Equatable {
        public var host: String
        public var `class`: String
        public var devices: Int
        /// The first synthetic user (default: after the previous edge of the same class).
        public var firstUser: Int?
        public var args: [String]?
    }

    public struct Roles: Decodable, Sendable, Equatable {
        public var auditor: Auditor?
        public var coordinator: Role
        public var global: Role
        public var shards: [Shard]
        public var edges: [Edge]
    }

    public var name: String
    /// The fedpulse executable on every host (default: `fedpulse` on the login's PATH).
    public var binary: String?
    /// The folder on every host that holds the run's logs, pids, keys and state.
    public var workdir: String?
    /// `curve` (default: keys for every party, made by `lab up`) or `insecure`.
    public var transport: String?
    /// Extra ssh options for every host (`-o StrictHostKeyChecking=accept-new`, …).
    public var ssh: [String]?
    public var hosts: [Host]
    public var roles: Roles

    /// Parses and checks a topology file's text; `source` names it in errors.
    public static func parse(_ text: String, source: String) throws -> LabTopology {
        let topology: LabTopology
        do {
            topology = try YAMLDecoder().decode(LabTopology.self, from: text)
        } catch {
            throw LabError("\(source): not a lab topology: \(error)")
        }
        try topology.check(source: source)
        return topology
    }

    public static func load(path: String) throws -> LabTopology {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LabError("cannot read the topology file \(path)")
        }
        return try parse(text, source: path)
    }

    static let deviceClasses: Set<String> = ["watch", "phone", "tablet"]
    /// What a role's id and a host name may hold: they become file names and log-line values.
    static func isSafeName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x2D: true
                default: false
                }
            }
    }

    private func check(source: String) throws {
        func fail(_ message: String) -> LabError { LabError("\(source): \(message)") }
        guard Self.isSafeName(name) else { throw fail("name must be 1–64 of [A-Za-z0-9._-]") }
        guard !hosts.isEmpty else { throw fail("no hosts") }
        var names: Set<String> = []
        for host in hosts {
            guard Self.isSafeName(host.name) else {
                throw fail("host name \(host.name) must be 1–64 of [A-Za-z0-9._-]")
            }
            guard names.insert(host.name).inserted else { throw fail("host \(host.name) is listed twice") }
            guard Self.isSafeName(host.address.replacingOccurrences(of: ":", with: "-")) else {
                throw fail("host \(host.name) has no usable address")
            }
            if let port = host.sshPort, !(1...65_535).contains(port) {
                throw fail("host \(host.name): sshPort \(port)")
            }
            if let user = host.user, !Self.isSafeName(user) { throw fail("host \(host.name): ssh user \(user)") }
        }
        var placed = [roles.coordinator.host, roles.global.host] + roles.shards.map(\.host) + roles.edges.map(\.host)
        if let auditor = roles.auditor { placed.append(auditor.host) }
        for host in placed where !names.contains(host) {
            throw fail("a role runs on host \(host), which hosts does not list")
        }
        for shard in roles.shards where !Self.deviceClasses.contains(shard.class) {
            throw fail("shard class \(shard.class) is not watch, phone or tablet")
        }
        for edge in roles.edges {
            guard Self.deviceClasses.contains(edge.class) else {
                throw fail("edge class \(edge.class) is not watch, phone or tablet")
            }
            guard (1...10_000).contains(edge.devices) else {
                throw fail("an edge on \(edge.host) hosts \(edge.devices) devices (1–10000)")
            }
            guard roles.shards.contains(where: { $0.class == edge.class }) else {
                throw fail("edges of class \(edge.class) have no shard to send to")
            }
            if let first = edge.firstUser, !(0...1_000_000).contains(first) {
                throw fail("firstUser \(first) out of range")
            }
        }
        if let transport, !["curve", "insecure"].contains(transport) {
            throw fail("transport must be curve or insecure")
        }
    }
}

/// A topology or launcher failure, said in one sentence a user can act on.
public struct LabError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
