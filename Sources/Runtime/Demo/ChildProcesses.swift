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
///
/// A child that exits with an error when nobody asked it to stop is recorded as a
/// ``ChildFailure`` (with its last error line), so that a run can end at once instead of
/// waiting for rounds that can no longer happen.
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
            for waiter in waiters { waiter(status) }
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
    /// Children that exited with an error on their own, in the order they did.
    private let failures = Mutex<[ChildFailure]>([])
    /// Called for every failure, in order (``onFailure(_:)``).
    private let failureHandlers = Mutex<[@Sendable (ChildFailure) -> Void]>([])
    /// Process ids this object asked to stop (kill, stopAll): their exit is no failure.
    private let stopping = Mutex<Set<Int32>>([])

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
        process.terminationHandler = { [weak self] finished in
            self?.exited(
                name: name,
                pid: finished.processIdentifier,
                status: finished.terminationStatus,
                logFile: logFile
            )
            box.exited(status: finished.terminationStatus)
        }
        try process.run()
        try? handle.close()
        let child = Child(name: name, pid: process.processIdentifier, logFile: logFile, process: box)
        children.withLock { $0.append(child) }
        return child
    }

    /// All children started so far, in launch order.
    public var all: [Child] { children.withLock { $0 } }

    /// The first child that exited with an error without being asked to stop, if any.
    public var firstFailure: ChildFailure? { failures.withLock { $0.first } }

    private func exited(name: String, pid: Int32, status: Int32, logFile: URL) {
        guard status != 0, !stopping.withLock({ $0.contains(pid) }) else { return }
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        let failure = ChildFailure(
            child: name,
            status: status,
            lastErrorLine: ChildFailure.lastErrorLine(of: log),
            logFile: logFile.path
        )
        failures.withLock { $0.append(failure) }
        for handler in failureHandlers.withLock({ $0 }) { handler(failure) }
    }

    /// Calls `handler` for each child that exits with an error without being asked to stop:
    /// at once for those that already have, then as they do, on the thread that saw the exit
    /// (a failure that races the registration may be reported twice).
    public func onFailure(_ handler: @escaping @Sendable (ChildFailure) -> Void) {
        let earlier = failures.withLock { failures in
            failureHandlers.withLock { $0.append(handler) }
            return failures
        }
        for failure in earlier { handler(failure) }
    }

    /// Kills one child at once (SIGKILL), as a crash would.
    public func kill(_ child: Child) {
        stopping.withLock { _ = $0.insert(child.pid) }
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

    /// Blocks until the child's exit has been handled (its failure, if any, recorded), up to
    /// `timeout`; returns its exit status, or nil. For threads that own no async context.
    public func exitStatus(_ child: Child, within timeout: Duration) -> Int32? {
        let semaphore = DispatchSemaphore(value: 0)
        let status = Mutex<Int32?>(nil)
        child.process.onExit { code in
            status.withLock { $0 = code }
            semaphore.signal()
        }
        let milliseconds = Int(
            timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        _ = semaphore.wait(timeout: .now() + .milliseconds(milliseconds))
        return status.withLock { $0 }
    }

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
        stopping.withLock { $0.formUnion(running.map(\.pid)) }
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

/// A child that exited with an error by itself: who, how, the line that says why, and where
/// the rest of its output is.
public struct ChildFailure: Sendable, Codable, Hashable, CustomStringConvertible {
    public var child: String
    /// Exit status, or the signal number for a child killed by a signal.
    public var status: Int32
    public var lastErrorLine: String
    public var logFile: String

    public var description: String {
        "\(child) exited with status \(status): \(lastErrorLine)\n  log: \(logFile)"
    }

    /// The line of a log that best says why the process stopped: the CLI's final `Error: …`,
    /// else the last line logged at error or critical level, else the last line at all.
    static func lastErrorLine(of log: String) -> String {
        let lines = log.split(whereSeparator: \.isNewline).map { String($0) }.filter { !$0.allSatisfy(\.isWhitespace) }
        let chosen =
            lines.last { $0.hasPrefix("Error:") } ?? lines.last { $0.contains(" error ") || $0.contains(" critical ") }
            ?? lines.last ?? "(no output)"
        return chosen.count > 400 ? String(chosen.prefix(400)) + "…" : chosen
    }
}

/// Free TCP ports on loopback for roles that a parent process starts and tells where to bind.
///
/// Not port 0's answer: the kernel hands those out of the ephemeral range, the same range every
/// outgoing connection takes its source port from, so with hundreds of devices connecting
/// nearby a port found free could be someone's source port a moment later (measured: a
/// coordinator's bind failed "Address already in use" while a 600-device test ran beside it).
/// Ports come from below the ephemeral range instead, never twice from one process, each
/// checked by binding it; port 0 is the fallback where that range is empty.
public enum FreePorts {
    private static let handedOut = Mutex<Set<Int>>([])

    public static func pick(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for descriptor in sockets { close(descriptor) } }
        let range = unshared
        var ports: [Int] = []
        for _ in 0..<count {
            if let range, let (fd, port) = claimUnshared(in: range) {
                sockets.append(fd)
                ports.append(port)
            } else {
                let fd = try bound(to: 0)
                sockets.append(fd)
                ports.append(try boundPort(of: fd))
            }
        }
        return ports
    }

    /// A port of `range` no call handed out before and nobody holds now, bound (256 tries).
    private static func claimUnshared(in range: ClosedRange<Int>) -> (fd: Int32, port: Int)? {
        for _ in 0..<256 {
            let candidate = Int.random(in: range)
            guard handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            if let fd = try? bound(to: candidate) { return (fd, candidate) }
        }
        return nil
    }

    /// Read once per process: the kernel's range does not move under a running test.
    private static let unshared = unsharedRange()

    /// 10000 up to the first ephemeral port (`/proc/sys/net/ipv4/ip_local_port_range`), or nil.
    static func unsharedRange() -> ClosedRange<Int>? {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) }
        let ephemeralLow = first ?? 32_768
        return ephemeralLow - 1 > 10_000 ? 10_000...(ephemeralLow - 1) : nil
    }

    /// A TCP socket bound to 127.0.0.1:`port` (0: the kernel's choice), or the bind error.
    private static func bound(to port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EndpointError(call: "socket", code: errno) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard ok else {
            let code = errno
            close(fd)
            throw EndpointError(call: "bind(127.0.0.1:\(port))", code: code)
        }
        return fd
    }

    private static func boundPort(of fd: Int32) throws -> Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw EndpointError(call: "getsockname", code: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
