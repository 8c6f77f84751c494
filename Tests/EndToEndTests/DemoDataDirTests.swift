import FedPulseTestSupport
import Foundation
import Learning
import Runtime
import Testing

extension EndToEndTests {
    /// `fedpulse demo --data-dir` over exports whose columns are not the wearable ones, run as
    /// the binary a user runs (every role a real process), judged by its summary and output.
    @Suite(.timeLimit(.minutes(2)))
    struct DemoDataDirTests {
        @Test func demoOverForeignColumnsMatchesTheCentralisedBaseline() async throws {
            let data = try TabularExports(name: "linear")
            try data.write(devices: 10, rowsPerDevice: 80, holdoutRows: 400)
            let run = try await data.runDemo(["--dp", "off", "--rounds", "5"])
            #expect(run.status == 0, "demo output:\n\(run.output)")
            let summary = try run.summary()
            let final = try #require(summary.finalAccuracy)
            let central = try #require(summary.centralizedAccuracy)
            #expect(final > 0.8, "the rule is learnable: federated accuracy \(final)")
            #expect(abs(final - central) <= 0.02, "federated \(final) vs centralised \(central)")
            #expect(summary.scaling == DemoScaling.federated.rawValue)
            let source = try #require(summary.dataSource)
            #expect(source.deviceFiles == 10)
            #expect(source.features == (0..<20).map { "m\($0)" })
            #expect(source.classes == ["0", "1"])
            #expect(source.model == "logistic-regression")
            #expect(source.rowsPerDevice == DataSourceSummary.RowCounts([80]))
            #expect(run.output.contains("features    20: m0, m1"))
            #expect(run.output.contains("positive class: 1"))
            #expect(run.output.contains("scaling                 federated statistics"))
        }

        @Test func multiClassNamesTrainSoftmax() async throws {
            let data = try TabularExports(name: "softmax", classes: ["rest", "walk", "run"])
            try data.write(devices: 6, rowsPerDevice: 100, holdoutRows: 300)
            let run = try await data.runDemo(["--dp", "off", "--rounds", "4", "--label-column", "activity"])
            #expect(run.status == 0, "demo output:\n\(run.output)")
            let summary = try run.summary()
            let source = try #require(summary.dataSource)
            #expect(source.model == "softmax-regression")
            #expect(source.classes == ["rest", "run", "walk"])
            #expect(source.labelColumn == "activity")
            // Three classes: chance is a third; the rule is linear, so softmax learns it.
            let final = try #require(summary.finalAccuracy)
            #expect(final > 0.7, "federated accuracy \(final)")
            let spec = try JSONDecoder().decode(
                ModelSpec.self,
                from: Data(contentsOf: data.report.appendingPathComponent("spec.json"))
            )
            #expect(spec.architecture == .softmaxRegression)
            #expect(spec.parameterCount == 3 * (20 + 20) + 3)
        }

        @Test func withoutAHoldoutOnlyTheFirstDeviceHeaderIsReadAndClassesMustBeGiven() throws {
            let data = try TabularExports(name: "headeronly")
            // Past its header the first device file is not even CSV: reading it would fail.
            try Data("m0,m1,label\n\"unterminated\n".utf8).write(to: data.directory.appendingPathComponent("a.csv"))
            try Data("m0,m1,label\n1,2,0\n".utf8).write(to: data.directory.appendingPathComponent("b.csv"))
            let directory = try DataDirectory(scanning: data.directory)
            #expect(directory.holdout == nil)
            #expect(directory.deviceFiles.map(\.lastPathComponent) == ["a.csv", "b.csv"])

            let built = try directory.spec(request: TabularSpecRequest(classes: ["no", "yes"]))
            #expect(built.source == "a.csv (header only)")
            #expect(built.spec.featureNames == ["m0", "m1"])
            #expect(built.spec.labels == ["no", "yes"])
            #expect(!built.scaledByHoldout)
            #expect(throws: LearningError.self) { try directory.spec(request: TabularSpecRequest()) }
        }

        struct Broken: Sendable, CustomTestStringConvertible {
            var name: String
            var edit: @Sendable (inout [[String]]) -> Void
            /// What the demo's output must contain: file, line, column and the reason.
            var expected: String
            var testDescription: String { name }
        }

        static let broken: [Broken] = [
            Broken(
                name: "missing column",
                edit: { rows in for index in rows.indices { rows[index].remove(at: 7) } },
                expected: "client_004.csv:1: missing column 'm7'"
            ),
            Broken(
                name: "non-numeric cell",
                edit: { $0[6][2] = "n/a" },
                expected: "client_004.csv:7:3: non-numeric value \"n/a\" in column 'm2'"
            ),
            Broken(
                name: "unknown label",
                edit: { $0[9][20] = "maybe" },
                expected: "client_004.csv:10:21: unknown label \"maybe\" in column 'label'"
            ),
        ]

        @Test(arguments: broken)
        func aBrokenDeviceFileFailsTheDemoWithFileLineAndColumn(_ broken: Broken) async throws {
            let data = try TabularExports(name: "broken")
            try data.write(devices: 6, rowsPerDevice: 40, holdoutRows: 100)
            try data.edit(device: 4, broken.edit)
            // Bounded by the suite's time limit; the demo's own round deadline is far longer,
            // so only failing fast can end this run in time.
            let run = try await data.runDemo(["--dp", "off", "--rounds", "3", "--round-timeout-ms", "60000"])
            #expect(run.status != 0)
            #expect(run.output.contains(broken.expected), "demo output:\n\(run.output)")
            // Files are dealt to the classes in turn: the fifth file is the second phone's.
            #expect(run.output.contains("error: edge-phone-0 exited with status 1"), "demo output:\n\(run.output)")
            #expect(run.output.contains("log: \(data.report.path)/logs/edge-phone-0.log"))
            #expect(try run.summary().endReason == "childFailed")
        }
    }
}

/// CSV exports made up for a test: 20 numeric columns `m0…m19` with per-column offsets and
/// spreads far from the wearable ranges, a class from a fixed linear rule plus noise, one file
/// per device and a `test.csv` hold-out.
struct TabularExports {
    let root: URL
    let directory: URL
    let report: URL
    let classes: [String]
    let labelColumn: String
    let columns = 20

    init(name: String, classes: [String] = ["0", "1"]) throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent(
                "fedpulse-e2e/tabular-\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
            )
        directory = root.appendingPathComponent("data")
        report = root.appendingPathComponent("report")
        self.classes = classes
        labelColumn = classes.count == 2 ? "label" : "activity"
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(devices: Int, rowsPerDevice: Int, holdoutRows: Int) throws {
        var rng = SeededGenerator(seed: 2_024)
        for device in 0..<devices {
            try save(rows(rowsPerDevice, &rng), as: String(format: "client_%03d.csv", device))
        }
        try save(rows(holdoutRows, &rng), as: "test.csv")
    }

    /// Rewrites one device file's cells (row 0 is the header).
    func edit(device: Int, _ change: (inout [[String]]) -> Void) throws {
        let url = directory.appendingPathComponent(String(format: "client_%03d.csv", device))
        var table = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        change(&table)
        try Data((table.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n").utf8).write(to: url)
    }

    /// One score per class, each a fixed linear function of the standardised columns.
    private func rows(_ count: Int, _ rng: inout SeededGenerator) -> [[String]] {
        var table = [(0..<columns).map { "m\($0)" } + [labelColumn]]
        let scores = classes.count == 2 ? 1 : classes.count
        for _ in 0..<count {
            let z = (0..<columns).map { _ in gaussian(&rng) }
            let raw = z.enumerated().map { index, value in 1_000 * Double(index) + Double(index + 1) * 7 * value }
            func score(_ k: Int) -> Double {
                z.enumerated().reduce(0) { total, pair in
                    total + sin(Double(pair.offset * 7 + k * 13 + 1)) * pair.element
                }
                    + 0.3 * gaussian(&rng)
            }
            let label =
                scores == 1
                ? (score(0) > 0 ? 1 : 0)
                : (0..<scores).map(score).enumerated().max { $0.element < $1.element }?.offset ?? 0
            table.append(raw.map { String(format: "%.4f", $0) } + [classes[label]])
        }
        return table
    }

    private func save(_ table: [[String]], as name: String) throws {
        let text = table.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: directory.appendingPathComponent(name))
    }

    private func gaussian(_ rng: inout SeededGenerator) -> Double {
        let u1 = 1 - Double.random(in: 0..<1, using: &rng)
        let u2 = Double.random(in: 0..<1, using: &rng)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    struct Run {
        var status: Int32
        var output: String
        var summaryFile: URL

        struct Summary: Decodable {
            var finalAccuracy: Double?
            var centralizedAccuracy: Double?
            var endReason: String
            var scaling: String?
            var dataSource: DataSourceSummary?
        }

        func summary() throws -> Summary { try JSONDecoder().decode(Summary.self, from: Data(contentsOf: summaryFile)) }
    }

    /// Runs `fedpulse demo --data-dir` on these files as a child process, waiting at most 90 s.
    func runDemo(_ arguments: [String]) async throws -> Run {
        let children = try ChildProcesses(executable: try FedPulseBinary.locate(), logDirectory: root)
        defer { children.stopAll() }
        let demo = try children.launch(
            name: "demo",
            arguments: [
                "demo", "--data-dir", directory.path, "--report-dir", report.path, "--round-timeout-ms", "3000",
            ] + arguments
        )
        let status = await children.waitForExit(demo, timeout: .seconds(90))
        let output = (try? String(contentsOf: demo.logFile, encoding: .utf8)) ?? ""
        return Run(status: status ?? -1, output: output, summaryFile: report.appendingPathComponent("summary.json"))
    }
}
