import ArgumentParser
import Foundation
import Runtime

extension FedPulse {
    /// The hierarchy across lab machines, from one topology file, over plain ssh.
    struct Lab: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the hierarchy across lab machines described by a topology file (YAML).",
            discussion: """
                `lab plan FILE` prints what will run on each host; `lab up FILE` starts it over ssh \
                (the OpenSSH client, BatchMode: keys or an agent, no passwords); `lab status FILE` \
                shows each process alive or dead with its last round; `lab down FILE` stops what up \
                started and collects every log. See deploy/lab/three-hosts.yaml.
                """,
            subcommands: [Plan.self, Up.self, Status.self, Down.self]
        )
    }
}

/// The topology argument and the operator's folder every lab subcommand shares.
struct LabOptions: ParsableArguments {
    @Argument(help: "The topology file (YAML).")
    var topology: String

    @Option(help: "The operator's folder for this lab: keys/ (made by up) and logs/ (collected by down).")
    var folder: String?

    func plan() throws -> LabPlan { LabPlan(try LabTopology.load(path: topology)) }

    func runner() throws -> LabRunner {
        let plan = try plan()
        let folder = URL(fileURLWithPath: folder ?? "fedpulse-lab-\(plan.name)", isDirectory: true)
        return LabRunner(plan: plan, localFolder: folder)
    }

    /// Prints every host's answer; a host whose script failed makes the command fail.
    func report(_ results: [LabRunner.HostResult]) throws {
        for result in results {
            print("host \(result.host)\(result.status == 0 ? "" : " (ssh exit \(result.status))")")
            for line in result.output.split(separator: "\n") { print("  \(line)") }
        }
        if results.contains(where: { $0.status != 0 }) { throw ExitCode(1) }
    }
}

extension FedPulse.Lab {
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what runs on each host: commands, ports, endpoints."
        )
        @OptionGroup var lab: LabOptions
        @Flag(help: "Print the plan as JSON.")
        var json = false

        func run() throws {
            let plan = try lab.plan()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(plan), as: UTF8.self))
            } else {
                print(plan.text, terminator: "")
            }
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start every process of the topology over ssh.")
        @OptionGroup var lab: LabOptions
        func run() throws { try lab.report(try lab.runner().up()) }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each process alive or dead, with its last round."
        )
        @OptionGroup var lab: LabOptions
        func run() throws { try lab.report(try lab.runner().status()) }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop what up started and collect every log.")
        @OptionGroup var lab: LabOptions
        func run() throws { try lab.report(try lab.runner().down()) }
    }
}
