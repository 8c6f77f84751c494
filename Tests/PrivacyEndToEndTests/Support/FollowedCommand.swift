import FedPulseTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A line of a child's standard output and when the test received it.
struct TimedLine: Sendable {
    let text: String
    let receivedAt: ContinuousClock.Instant
}

/// A long-running command (`fedpulse audit tail`) whose standard output is read line by line as it
/// arrives, so a test can tell what the command showed while the run was still going.
final class FollowedCommand: @unchecked Sendable {
    // `process` is only touched through its thread-safe members after `run()`.
    private let process = Process()
    private let output = Pipe()
    private let errorLog: FileHandle
    let lines = EventLog<TimedLine>(describe: \.text)
    private let finished = EventLog<String>(describe: { $0 })
    let name: String

    init(name: String, executable: URL, arguments: [String], stderr: URL) throws {
        self.name = name
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        errorLog = try FileHandle(forWritingTo: stderr)
        process.standardError = errorLog
        process.standardOutput = output
        let finished = self.finished
        process.terminationHandler = { finished.append("exit \($0.terminationStatus)") }
        try process.run()
        try? output.fileHandleForWriting.close()
        // A plain blocking reader thread: Foundation's `readabilityHandler` has crashed libdispatch
        // on Linux when the handle goes away while its source is still registered.
        let reader = output.fileHandleForReading
        let lines = self.lines
        let thread = Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(reader.fileDescriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                let now = ContinuousClock.now
                guard count > 0 else {
                    if !pending.isEmpty { lines.append(TimedLine(text: String(decoding: pending, as: UTF8.self), receivedAt: now)) }
                    finished.append("end of output")
                    return
                }
                pending.append(contentsOf: buffer[..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    lines.append(TimedLine(text: String(decoding: pending[..<newline], as: UTF8.self), receivedAt: now))
                    pending.removeSubrange(...newline)
                }
            }
        }
        thread.name = "privacy-e2e-\(name)"
        thread.start()
    }

    /// Waits for the command to exit by itself and for its output to end; returns the exit status.
    func waitForExit(within timeout: Duration) async throws -> Int32 {
        try await finished.first(within: timeout, "\(name) to exit") { events in
            guard events.contains("end of output") else { return nil }
            return events.lazy.compactMap { $0.hasPrefix("exit ") ? Int32($0.dropFirst(5)) : nil }.first
        }
    }

    /// SIGKILL if still running (cleanup after a failed test).
    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    deinit { kill() }
}
