import Foundation

/// Small helpers shared by the benchmark sections: arguments, statistics, formatting, /proc.

/// `--name value` pairs after the subcommand; flags without a value are not used by the benches.
struct BenchArguments {
    private var values: [String: String] = [:]

    init(_ arguments: ArraySlice<String>) throws {
        var iterator = arguments.makeIterator()
        while let key = iterator.next() {
            guard key.hasPrefix("--"), let value = iterator.next() else {
                throw BenchError("expected --name value pairs, got \(key)")
            }
            values[String(key.dropFirst(2))] = value
        }
    }

    func string(_ name: String, default value: String) -> String { values[name] ?? value }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let text = values[name] else { return value }
        guard let number = Int(text) else { throw BenchError("--\(name) takes an integer, got \(text)") }
        return number
    }

    func ints(_ name: String, default value: [Int]) throws -> [Int] {
        guard let text = values[name] else { return value }
        let numbers = text.split(separator: ",").compactMap { Int($0) }
        guard !numbers.isEmpty else { throw BenchError("--\(name) takes comma-separated integers, got \(text)") }
        return numbers
    }

    func optionalString(_ name: String) -> String? { values[name] }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The `fedpulse` binary next to this one (both are products of the same build).
func siblingExecutable(_ name: String) -> String {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func secondsOf(_ duration: Duration) -> Double {
    let (whole, attoseconds) = duration.components
    return Double(whole) + Double(attoseconds) * 1e-18
}

func formatSeconds(_ seconds: Double) -> String {
    switch seconds {
    case ..<1e-3: String(format: "%.1f µs", seconds * 1e6)
    case ..<1: String(format: "%.1f ms", seconds * 1e3)
    default: String(format: "%.2f s", seconds)
    }
}

func formatMB(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

func verdict(_ met: Bool) -> String { met ? "met" : "**missed**" }

/// One line per target at the end of a section; scripts/run-bench.sh collects them (by the
/// `- **Target**` prefix) into the summary at the top of BENCHMARKS.md.
func targetLine(_ name: String, measured: String, target: String, met: Bool) -> String {
    "- **Target** \(name): \(measured) (target \(target)): \(verdict(met))"
}

/// User + system CPU seconds and minor page faults of process `pid` so far, from `/proc/<pid>/stat`
/// (10 ms ticks), or nil once it is gone.
func usageOfProcess(pid: Int32) -> (cpuSeconds: Double, minorFaults: Double)? {
    usage(statFile: "/proc/\(pid)/stat")
}

/// The same for the thread of this process named `name` (`/proc/self/task/<tid>/stat`), or nil
/// when no thread has that name.
func usageOfThread(named name: String) -> (cpuSeconds: Double, minorFaults: Double)? {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    for task in tasks {
        let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
        if comm?.trimmingCharacters(in: .whitespacesAndNewlines) == name {
            return usage(statFile: "/proc/self/task/\(task)/stat")
        }
    }
    return nil
}

private func usage(statFile: String) -> (cpuSeconds: Double, minorFaults: Double)? {
    guard let stat = try? String(contentsOfFile: statFile, encoding: .utf8), let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command: state is field 3, minflt 10, utime and stime 14 and 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let faults = Double(fields[7]), let user = Double(fields[11]),
        let system = Double(fields[12])
    else { return nil }
    return ((user + system) / Double(sysconf(Int32(_SC_CLK_TCK))), faults)
}

/// A line of `/proc/<pid>/status` in bytes (`VmHWM`, `VmRSS`), or nil.
func procStatusBytes(pid: Int32? = nil, field: String) -> Int? {
    let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
    guard let status = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("\(field):") {
        return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
    }
    return nil
}

/// Quotes an argument for a shell command line shown in BENCHMARKS.md.
func shellQuoted(_ arguments: [String]) -> String {
    arguments.map { argument in
        argument.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=,".contains($0) }) ? argument : "'\(argument)'"
    }.joined(separator: " ")
}

/// Shows an absolute path under the current directory as a relative one, so commands read as typed.
func displayPath(_ path: String) -> String {
    let cwd = FileManager.default.currentDirectoryPath + "/"
    return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
}

/// Progress on stderr, so stdout stays the Markdown section.
func note(_ text: String) {
    FileHandle.standardError.write(Data("[bench] \(text)\n".utf8))
}

/// Proportional set size of a process in bytes (`Pss` in smaps_rollup): its private pages plus
/// its share of pages mapped by several processes (the Swift runtime, Foundation, the binary),
/// so a sum over processes counts every resident page once, unlike a sum of `VmHWM`.
func proportionalSetBytes(pid: Int32) -> Int? {
    guard let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { return nil }
    for line in rollup.split(separator: "\n") where line.hasPrefix("Pss:") {
        return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
    }
    return nil
}

/// The pids whose parent is `parent`, from `/proc/<pid>/stat`.
func childPids(of parent: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let ppid = Int32(fields[1]), ppid == parent else { return nil }
        return pid
    }
}

/// The peaks over time of the summed PSS and of the summed private anonymous memory (`RssAnon`:
/// heap, stacks, buffers; no code or shared libraries) of a set of processes, sampled.
struct FootprintSampler {
    private(set) var peakSum = 0
    private(set) var peakAnonymousSum = 0
    private(set) var samples = 0

    mutating func sample(_ pids: [Int32]) {
        peakSum = max(peakSum, pids.compactMap(proportionalSetBytes(pid:)).reduce(0, +))
        peakAnonymousSum = max(
            peakAnonymousSum,
            pids.compactMap { procStatusBytes(pid: $0, field: "RssAnon") }.reduce(0, +)
        )
        samples += 1
    }
}
