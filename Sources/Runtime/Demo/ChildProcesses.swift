public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The `fedpulse` child processes of a demo or test run, stopped together however it ends.
///
/// Each child writes stdout and stderr to its own log file. ``stopAll(grace:)`` sends SIGTERM
/// (the roles shut down gracefully: flush, linger, close) and SIGKILL to whatever is still alive
/// after the grace period, so no child outlives the run.
public final class ChildProcesses: Sendable {
    public struct Child: Sendable {
        public let name: String
        public let pid: Int32
        public let logFile: URL
        let process: ProcessBox
    }

    final class ProcessBox: @unchecked Sendable {
        // Process is used only through its thread-safe members (isRunning, pid, waitUntilExit,
        // terminationStatus) after launch; `exit` is guarded by its mutex.
        let process: Process
        private let exit = Mutex<(status: Int32?, waiters: [@Sendable (Int32) -> Void])>((nil, []))

        init(_ process: Process) { self.process = process }

        /// Called from the process's termination handler.
        func exited(status: Int32) {
            let waiters = exit.withLock { state in
                state.status = status
                defer { state.waiters = [] }
                return state.waiters
            }
            waiters.forEach { $0(status) }
        }

        /// Calls `waiter` once the process has exited (at once if it already has).
        func onExit(_ waiter: @escaping @Sendable (Int32) -> Void) {
            let known = exit.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiters.append(waiter)
                return nil
            }
            if let known { waiter(known) }
        }
    }

    private let executable: URL
    private let logDirectory: URL
    private let children = Mutex<[Child]>([])

    public init(executable: URL, logDirectory: URL) throws {
        self.executable = executable
        self.logDirectory = logDirectory
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
    }

    /// Starts `fedpulse <arguments>`; its output goes to `<logDirectory>/<name>.log`.
    @discardableResult
    public func launch(name: String, arguments: [String], environment: [String: String] = [:]) throws -> Child {
        let logFile = logDirectory.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let box = ProcessBox(process)
        process.terminationHandler = { finished in box.exited(status: finished.terminationStatus) }
        try process.run()
        try? handle.close()
        let child = Child(name: name, pid: process.processIdentifier, logFile: logFile, process: box)
        children.withLock { $0.append(child) }
        return child
    }

    /// All children started so far, in launch order.
    public var all: [Child] { children.withLock { $0 } }

    /// Kills one child at once (SIGKILL), as a crash would.
    public func kill(_ child: Child) {
        Glibc.kill(child.pid, SIGKILL)
        child.process.process.waitUntilExit()
    }

    /// The child's peak resident memory so far (`VmHWM` in /proc), while it runs.
    public func peakResidentBytes(_ child: Child) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }

    /// Whether the child is still running.
    public func isRunning(_ child: Child) -> Bool { child.process.process.isRunning }

    /// Waits for a child to exit by itself, up to `timeout`; returns its exit status, or nil.
    public func waitForExit(_ child: Child, timeout: Duration) async -> Int32? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
            let resumed = StopFlag()
            let resumeOnce: @Sendable (Int32?) -> Void = { status in
                if resumed.setIfUnset() { continuation.resume(returning: status) }
            }
            child.process.onExit { resumeOnce($0) }
            Task {
                try? await Task.sleep(for: timeout)
                resumeOnce(nil)
            }
        }
    }

    /// SIGTERM to every child still running, then SIGKILL after `grace`.
    public func stopAll(grace: Duration = .seconds(5)) {
        let running = children.withLock { $0 }.filter { $0.process.process.isRunning }
        for child in running { Glibc.kill(child.pid, SIGTERM) }
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        for child in running {
            while child.process.process.isRunning && clock.now < deadline {
                usleep(20_000)
            }
            if child.process.process.isRunning {
                Glibc.kill(child.pid, SIGKILL)
            }
            child.process.process.waitUntilExit()
        }
    }

    deinit {
        for child in children.withLock({ $0 }) where child.process.process.isRunning {
            Glibc.kill(child.pid, SIGKILL)
        }
    }
}

/// Free TCP ports on loopback, found by binding port 0 and reading back what the kernel chose.
public enum FreePorts {
    public static func pick(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw EndpointError(call: "socket", code: errno) }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard ok else { throw EndpointError(call: "bind(127.0.0.1:0)", code: errno) }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
