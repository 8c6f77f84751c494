import Foundation

// The benchmarks of `make bench`: each subcommand measures ratios within one run and prints a
// Markdown section on stdout (progress goes to stderr); scripts/run-bench.sh writes them to
// BENCHMARKS.md under the command that ran them. Run the release build.
//
//   fedpulse-bench learning                      training throughput, accumulate vs memcpy (issue 3)
//   fedpulse-bench ingest [--messages 50] [--repeats 5] [--shard thread|process] [--parameters 1000000]
//   fedpulse-bench ingest-memory [--messages 10,50,200] [--parameters 1000000]
//   fedpulse-bench demo [--devices-per-class 4,17] [--rounds 10] [--work-dir DIR]
//   fedpulse-bench hierarchy [--edges watch:100,watch:100,phone:100,phone:100,tablet:100] [--rounds 6] [--work-dir DIR]
//
// Every subcommand but `learning` takes `--fedpulse PATH` (default: the `fedpulse` next to this binary).

func runBench() -> Int32 {
    let arguments = CommandLine.arguments
    let subcommand = arguments.count > 1 ? arguments[1] : "learning"
    do {
        let options = try BenchArguments(arguments.dropFirst(2))
        let fedpulse = options.string("fedpulse", default: siblingExecutable("fedpulse"))
        let workDirectory = options.string("work-dir", default: FileManager.default.temporaryDirectory.appendingPathComponent("fedpulse-bench").path)
        let parameters = try options.int("parameters", default: 1_000_000)
        switch subcommand {
        case "learning":
            print(learningBenchmarks())
        case "ingest":
            let placement = ShardPlacement(rawValue: options.string("shard", default: "thread")) ?? .thread
            print(
                try ingestBenchmark(
                    placement: placement, messages: try options.int("messages", default: 50),
                    repeats: try options.int("repeats", default: 5), parameterCount: parameters, fedpulse: fedpulse
                )
            )
        case "ingest-memory":
            var lines = [
                "| updates in the round | peak after 1-update warm-up round | peak after the round | growth | growth ÷ model size (4 MB) | round time |",
                "|---:|---:|---:|---:|---:|---:|",
            ]
            for messages in try options.ints("messages", default: [10, 50, 200]) {
                lines.append(try ingestMemoryRow(messages: messages, parameterCount: parameters, fedpulse: fedpulse))
            }
            print(lines.joined(separator: "\n") + "\n")
        case "demo":
            print(
                try demoBenchmarks(
                    fedpulse: fedpulse, devicesPerClass: try options.ints("devices-per-class", default: [4, 17]),
                    rounds: try options.int("rounds", default: 10), workDirectory: workDirectory
                )
            )
        case "hierarchy":
            let edges = options.string("edges", default: "watch:100,watch:100,phone:100,phone:100,tablet:100")
            let layout = try edges.split(separator: ",").map { item -> (deviceClass: String, devices: Int) in
                let parts = item.split(separator: ":")
                guard parts.count == 2, let count = Int(parts[1]) else { throw BenchError("--edges takes class:count,…, got \(item)") }
                return (String(parts[0]), count)
            }
            print(try hierarchyBenchmark(fedpulse: fedpulse, layout: layout, rounds: try options.int("rounds", default: 6), workDirectory: workDirectory))
        default:
            throw BenchError("unknown subcommand \(subcommand); see Sources/FedPulseBench/main.swift")
        }
        return 0
    } catch {
        FileHandle.standardError.write(Data("fedpulse-bench \(subcommand): \(error)\n".utf8))
        return 1
    }
}

exit(runBench())
