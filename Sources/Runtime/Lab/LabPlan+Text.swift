import Foundation

extension LabPlan {
    /// The plan as an operator reads it before `lab up`: per host, each process's endpoints and
    /// its exact command line, then how to follow the auditor from this machine.
    public var text: String {
        var lines = [
            "lab \(name): \(hosts.count) hosts, \(processes.count) processes, transport \(curve ? "curve" : "insecure")",
            "binary \(binary), run folder \(workdir) on every host",
        ]
        for host in hosts {
            lines.append("")
            lines.append(
                "host \(host.name) \(host.address) (ssh \((host.sshOptions + [host.sshDestination]).joined(separator: " ")))"
            )
            if host.processes.isEmpty { lines.append("  (nothing runs here)") }
            for process in host.processes {
                lines.append("  \(process.name)")
                let binds = process.binds.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                lines.append("    binds     \(binds.joined(separator: ", "))")
                if !process.connects.isEmpty {
                    lines.append("    connects  \(process.connects.joined(separator: ", "))")
                }
                lines.append(
                    "    command   \(([binary] + process.arguments).map(Self.shellQuoted).joined(separator: " "))"
                )
            }
        }
        if let ledgerEndpoint {
            lines.append("")
            var tail = ["fedpulse", "audit", "tail", "--connect", ledgerEndpoint]
            if curve {
                tail += ["--curve-secret-key", "KEYS/\(Self.observerName).key", "--enrolment", "KEYS/enrolment.txt"]
            }
            lines.append("follow the auditor: \(tail.joined(separator: " "))")
            if curve { lines.append("  (KEYS: the keys folder `lab up` writes beside the collected logs)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `argument` as one POSIX shell word: the remote side of ssh runs a shell command line.
    public static func shellQuoted(_ argument: String) -> String {
        let plain =
            !argument.isEmpty
            && argument.utf8.allSatisfy { byte in
                switch byte {
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x2D, 0x2F, 0x3A, 0x3D, 0x40, 0x2C, 0x2B: true
                default: false
                }
            }
        return plain ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
