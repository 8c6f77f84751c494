import Foundation

// The benchmarks of `make bench`: each subcommand measures ratios within one run and prints a
// Markdown section on stdout (progress goes to stderr); scripts/run-bench.sh writes them to
// BENCHMARKS.md under the command that ran them. Run the release build.
//
//   fedpulse-bench learning                      training throughput, accumulate vs memcpy (issue 3)
//   fedpulse-bench ingest [--messages 50] [--repeats 5] [--shard thread|process] [--breakdown yes|no] [--parameters 1000000]
//   fedpulse-bench ingest-memory [--messages 10,50,200] [--pace-ms 0,10] [--parameters 1000000]
//   fedpulse-bench demo [--devices-per-class 4,17] [--dp-central-devices-per-class 17] [--rounds 10] [--work-dir DIR]
//   fedpulse-bench hierarchy [--edges watch:100,watch:100,phone:100,phone:100,tablet:100] [--rounds 6] [--work-dir DIR]
//   fedpulse-bench scale [--devices 10000] [--edges 20] [--shards-per-class 2] [--rounds 10] [--sampling-rate 0.1] [--work-dir DIR]
//   fedpulse-bench compression [--encodings "f32;q8;topk:0.1,q8"] [--devices-per-class 4] [--rounds 8] [--parameters 1000000]
//   fedpulse-bench codec [--encodings "f32;q8;topk:0.1,q8"] [--parameters 1000000]   (the codec timing table alone)
//
// Every subcommand but `learning` takes `--fedpulse PATH` (default: the `fedpulse` next to this binary).

func runBench() -> Int32 {
    let arguments = CommandLine.arguments
    let subcommand = arguments.count > 1 ? arguments[1] : "learning"
    do {
        let options = try BenchArguments(arguments.dropFirst(2))
        let fedpulse = options.string("fedpulse", default: siblingExecutable("fedpulse"))
        let workDirectory = options.string(
            "work-dir",
            default: FileManager.default.temporaryDirectory.appendingPathComponent("fedpulse-bench").path
        )
        let parameters = try options.int("parameters", default: 1_000_000)
        switch subcommand {
        case "learning":
            // BENCHMARKS.md gives the section its heading; keep the subsections.
            let section = learningBenchmarks()
            print(
                section.hasPrefix("## Learning core\n\n")
                    ? String(section.dropFirst("## Learning core\n\n".count)) : section
            )
        case "ingest":
            let placement = ShardPlacement(rawValue: options.string("shard", default: "thread")) ?? .thread
            print(
                try ingestBenchmark(
                    placement: placement,
                    messages: try options.int("messages", default: 50),
                    repeats: try options.int("repeats", default: 5),
                    parameterCount: parameters,
                    fedpulse: fedpulse,
                    workDirectory: workDirectory
                )
            )
            if options.string("breakdown", default: "yes") == "yes" {
                print(try shardCostBreakdown(parameterCount: parameters))
            }
        case "pull-sink":
            // The raw baselines of `ingest --shard process`, started by that bench (not run by hand).
            guard let kind = PullSink.Kind(rawValue: options.string("kind", default: "libzmq")) else {
                throw BenchError("--kind takes libzmq or wrapper")
            }
            try PullSink.serve(
                kind: kind,
                batches: try options.ints("batches", default: [1]),
                receiveHighWaterMark: Int32(clamping: try options.int("hwm", default: 2)),
                report: options.string("report", default: "")
            )
        case "ingest-memory":
            print(
                try ingestMemoryBenchmark(
                    cohorts: try options.ints("messages", default: [10, 50, 200]),
                    pacings: try options.ints("pace-ms", default: [0, 10]),
                    parameterCount: parameters,
                    fedpulse: fedpulse,
                    workDirectory: workDirectory
                )
            )
        case "demo":
            print(
                try demoBenchmarks(
                    fedpulse: fedpulse,
                    devicesPerClass: try options.ints("devices-per-class", default: [4, 17]),
                    privateDevicesPerClass: try options.ints("dp-central-devices-per-class", default: [17]),
                    rounds: try options.int("rounds", default: 10),
                    workDirectory: workDirectory
                )
            )
        case "hierarchy":
            let edges = options.string("edges", default: "watch:100,watch:100,phone:100,phone:100,tablet:100")
            let layout = try edges.split(separator: ",").map { item -> (deviceClass: String, devices: Int) in
                let parts = item.split(separator: ":")
                guard parts.count == 2, let count = Int(parts[1]) else {
                    throw BenchError("--edges takes class:count,…, got \(item)")
                }
                return (String(parts[0]), count)
            }
            print(
                try hierarchyBenchmark(
                    fedpulse: fedpulse,
                    layout: layout,
                    rounds: try options.int("rounds", default: 6),
                    workDirectory: workDirectory
                )
            )
        case "scale":
            var run = ScaleRun()
            run.devices = try options.int("devices", default: run.devices)
            run.edges = try options.int("edges", default: run.edges)
            run.shardsPerClass = try options.int("shards-per-class", default: run.shardsPerClass)
            run.rounds = try options.int("rounds", default: run.rounds)
            run.samplingRate =
                Double(options.string("sampling-rate", default: "\(run.samplingRate)")) ?? run.samplingRate
            guard run.devices >= run.edges, run.edges >= 1, run.shardsPerClass >= 1, run.rounds >= 1 else {
                throw BenchError("scale needs --devices ≥ --edges ≥ 1, --shards-per-class ≥ 1, --rounds ≥ 1")
            }
            print(try scaleBenchmark(fedpulse: fedpulse, run: run, workDirectory: workDirectory))
        case "secagg":
            print(
                try secAggBenchmark(
                    devices: try options.ints("devices", default: [50, 100]),
                    parameters: try options.int("parameters", default: 100_000)
                )
            )
        case "secagg-runtime":
            print(
                try secAggRuntimeBenchmark(
                    fedpulse: fedpulse,
                    devicesPerClass: try options.ints("devices-per-class", default: [17, 167]),
                    shardsPerClass: try options.ints("shards-per-class", default: [1, 2]),
                    rounds: try options.int("rounds", default: 6),
                    workDirectory: workDirectory
                )
            )
        case "codec":
            let choices = try compressionChoices(
                options.string("encodings", default: benchEncodings.joined(separator: ";")).split(separator: ";")
                    .map(String.init)
            )
            print(try codecTimingSection(choices, parameterCount: parameters).lines.joined(separator: "\n"))
        case "compression":
            print(
                try compressionBenchmarks(
                    fedpulse: fedpulse,
                    encodings: options.string("encodings", default: benchEncodings.joined(separator: ";"))
                        .split(separator: ";").map(String.init),
                    devicesPerClass: try options.int("devices-per-class", default: 4),
                    rounds: try options.int("rounds", default: 8),
                    parameterCount: parameters,
                    workDirectory: workDirectory
                )
            )
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
