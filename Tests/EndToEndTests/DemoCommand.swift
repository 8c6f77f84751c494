import FedPulseTestSupport
import Foundation
import Runtime

/// `fedpulse demo …` as a user runs it: the binary in a fresh folder, its own child processes,
/// its console output and its report folder.
struct DemoCommand {
    let status: Int32?
    let output: String
    let report: URL

    /// Runs `fedpulse demo ARGUMENTS --report-dir <fresh>/report` to its end, at most `timeout`.
    static func run(_ label: String, _ arguments: [String], timeout: Duration = .seconds(90)) async throws -> Self {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fedpulse-e2e/\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        )
        let report = root.appendingPathComponent("report")
        let children = try ChildProcesses(executable: try FedPulseBinary.locate(), logDirectory: root)
        defer { children.stopAll() }
        let demo = try children.launch(name: "demo", arguments: ["demo"] + arguments + ["--report-dir", report.path])
        let status = await children.waitForExit(demo, timeout: timeout)
        let output = (try? String(contentsOf: demo.logFile, encoding: .utf8)) ?? ""
        return Self(status: status, output: output, report: report)
    }
}
