import CZeroMQ
import Dispatch
import Foundation
import Runtime
import Synchronization
import ZeroMQ

/// The receiving end of the raw transport baselines: a PULL socket on its own thread and its own
/// libzmq context (as a separate process would have), which receives batches of messages and
/// stamps the instant each batch is complete.
///
/// `.libzmq` is libzmq alone: `zmq_msg_recv` into one reused `zmq_msg_t`, bytes never touched.
/// `.wrapper` is the project's `ZeroMQ.Socket.receive`, which copies every frame into a
/// `[UInt8]` as the aggregator's receive does. Both bind `tcp://127.0.0.1:*` with the shard's
/// receive high-water mark, so only the receive path differs from the shard under test.
///
/// Placed as `.process`, the sink is a `fedpulse-bench pull-sink` child (the same code on its main
/// thread), which reports its endpoint and each completed batch on a PUSH to this process: the
/// baseline then runs as the shard under test does when it is a process, in an address space of
/// its own instead of beside the sender.
final class PullSink: Sendable {
    enum Kind: String, Sendable {
        case libzmq
        case wrapper
    }

    /// Batch completions, handed from the receiving thread to the caller.
    fileprivate final class Progress: Sendable {
        let done = DispatchSemaphore(value: 0)
        let state = Mutex<(ends: [ContinuousClock.Instant], failure: String?)>(([], nil))
    }

    let endpoint: String
    private let progress = Progress()
    /// The child running the sink and the socket its reports arrive on (`.process` placement only).
    private let remote: (launcher: ChildProcesses, child: ChildProcesses.Child, reports: OwnedSocket)?

    /// Starts the sink; returns once it is bound. `batches` are message counts.
    convenience init(kind: Kind, batches: [Int], receiveHighWaterMark: Int32, placement: ShardPlacement) throws {
        switch placement {
        case .thread: try self.init(kind: kind, batches: batches, receiveHighWaterMark: receiveHighWaterMark)
        case .process: try self.init(childOfKind: kind, batches: batches, receiveHighWaterMark: receiveHighWaterMark)
        }
    }

    /// User + system CPU seconds and minor page faults of the sink's process so far (`.process` only).
    var processUsage: (cpuSeconds: Double, minorFaults: Double)? {
        remote.flatMap { usageOfProcess(pid: $0.child.pid) }
    }

    /// Stops the sink's process, if it has one (a thread sink ends after its last batch).
    func stop() {
        remote?.reports.stop()
        remote?.launcher.stopAll(grace: .seconds(1))
    }

    /// Starts the receiving thread; returns once it is bound.
    private init(kind: Kind, batches: [Int], receiveHighWaterMark: Int32) throws {
        final class Binding: Sendable {
            let endpoint = Mutex<String?>(nil)
            let ready = DispatchSemaphore(value: 0)
        }
        let binding = Binding()
        let progress = self.progress
        let thread = Thread {
            let record: @Sendable (ContinuousClock.Instant) -> Void = { instant in
                progress.state.withLock { $0.ends.append(instant) }
                progress.done.signal()
            }
            let publish: @Sendable (String) -> Void = { endpoint in
                binding.endpoint.withLock { $0 = endpoint }
                binding.ready.signal()
            }
            do {
                try Self.receive(kind, batches: batches, hwm: receiveHighWaterMark, publish: publish, record: record)
            } catch {
                progress.state.withLock { $0.failure = "\(error)" }
                binding.ready.signal()
                for _ in batches { progress.done.signal() }
            }
        }
        thread.name = "sink-\(kind.rawValue)"
        thread.start()
        binding.ready.wait()
        guard let endpoint = binding.endpoint.withLock({ $0 }) else {
            throw BenchError("pull sink did not bind: \(progress.state.withLock { $0.failure ?? "unknown" })")
        }
        self.endpoint = endpoint
        remote = nil
    }

    /// Starts `fedpulse-bench pull-sink` and a thread here that turns its reports into batch
    /// completions (stamped when the report arrives, tens of microseconds after the batch).
    private init(childOfKind kind: Kind, batches: [Int], receiveHighWaterMark: Int32) throws {
        let context = try Context()
        let reports = try Socket(context, type: .pull)
        try reports.setLinger(0)
        let reportEndpoint = try reports.bindResolved("tcp://127.0.0.1:*")
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("fedpulse-bench-sink-\(getpid())")
        let launcher = try ChildProcesses(
            executable: URL(fileURLWithPath: siblingExecutable("fedpulse-bench")),
            logDirectory: logs
        )
        let child = try launcher.launch(
            name: "sink-\(kind.rawValue)",
            arguments: [
                "pull-sink", "--kind", kind.rawValue, "--batches", batches.map(String.init).joined(separator: ","),
                "--hwm", "\(receiveHighWaterMark)", "--report", reportEndpoint,
            ]
        )
        // The child's first report is its endpoint.
        var learned: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while learned == nil, ContinuousClock.now < deadline {
            var items = [reports.pollItem()]
            try poll(&items, timeout: .milliseconds(200))
            if let frames = try reports.receive(dontWait: true), let text = frames.first {
                learned = String(decoding: text, as: UTF8.self).split(separator: " ", maxSplits: 1).last.map(
                    String.init
                )
            }
        }
        guard let endpoint = learned else {
            launcher.stopAll(grace: .seconds(1))
            throw BenchError("pull sink process reported no endpoint within 30 s (log: \(child.logFile.path))")
        }
        let progress = self.progress
        let owned = OwnedSocket(context: context, socket: reports)
        let thread = Thread {
            owned.forward(batches: batches.count, into: progress)
        }
        thread.name = "sink-reports-\(kind.rawValue)"
        thread.start()
        self.endpoint = endpoint
        remote = (launcher, child, owned)
    }

    /// What a `pull-sink` child runs: the sink on this thread, reporting on a PUSH to `report`.
    static func serve(kind: Kind, batches: [Int], receiveHighWaterMark: Int32, report: String) throws {
        // A sink whose bench died (reparented) would wait for its batches forever: it leaves.
        let parent = getppid()
        let watchdog = Thread {
            while getppid() == parent { Thread.sleep(forTimeInterval: 0.5) }
            exit(1)
        }
        watchdog.start()
        let context = try Context()
        let reports = try Socket(context, type: .push)
        try reports.setLinger(1_000)
        try reports.connect(report)
        try receive(
            kind,
            batches: batches,
            hwm: receiveHighWaterMark,
            publish: { _ = try? reports.send([Array("endpoint \($0)".utf8)]) },
            record: { _ in _ = try? reports.send([Array("batch".utf8)]) }
        )
    }

    /// The receive loop of `kind`, calling `publish` once bound and `record` after each batch.
    private static func receive(
        _ kind: Kind,
        batches: [Int],
        hwm: Int32,
        publish: (String) -> Void,
        record: (ContinuousClock.Instant) -> Void
    ) throws {
        switch kind {
        case .libzmq: try receiveWithLibzmq(batches: batches, hwm: hwm, publish: publish, record: record)
        case .wrapper: try receiveWithWrapper(batches: batches, hwm: hwm, publish: publish, record: record)
        }
    }

    /// Blocks until the next batch is complete; returns the instant its last message arrived.
    func waitForBatch(timeout: Duration = .seconds(120)) throws -> ContinuousClock.Instant {
        let milliseconds = Int(secondsOf(timeout) * 1000)
        guard progress.done.wait(timeout: .now() + .milliseconds(milliseconds)) == .success else {
            throw BenchError("pull sink: batch not complete within \(timeout)")
        }
        return try progress.state.withLock { state in
            if let failure = state.failure { throw BenchError("pull sink failed: \(failure)") }
            return state.ends.removeFirst()
        }
    }

    private static func receiveWithLibzmq(
        batches: [Int],
        hwm: Int32,
        publish: (String) -> Void,
        record: (ContinuousClock.Instant) -> Void
    ) throws {
        guard let context = zmq_ctx_new() else { throw BenchError("zmq_ctx_new failed") }
        defer { zmq_ctx_term(context) }
        guard let socket = zmq_socket(context, ZMQ_PULL) else { throw BenchError("zmq_socket failed") }
        defer { zmq_close(socket) }
        var highWaterMark = hwm
        var linger: Int32 = 0
        zmq_setsockopt(socket, ZMQ_RCVHWM, &highWaterMark, MemoryLayout<Int32>.size)
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_bind(socket, "tcp://127.0.0.1:*") == 0 else { throw BenchError("zmq_bind: errno \(zmq_errno())") }
        var buffer = [UInt8](repeating: 0, count: 256)
        var length = buffer.count
        zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, &buffer, &length)
        publish(String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self))
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        for batch in batches {
            var received = 0
            while received < batch {
                var more: Int32 = 0
                repeat {
                    zmq_msg_init(message)
                    var result = zmq_msg_recv(message, socket, 0)
                    while result < 0 && zmq_errno() == EINTR { result = zmq_msg_recv(message, socket, 0) }
                    guard result >= 0 else {
                        zmq_msg_close(message)
                        throw BenchError("zmq_msg_recv: errno \(zmq_errno())")
                    }
                    more = zmq_msg_more(message)
                    zmq_msg_close(message)
                } while more != 0
                received += 1
            }
            record(.now)
        }
    }

    private static func receiveWithWrapper(
        batches: [Int],
        hwm: Int32,
        publish: (String) -> Void,
        record: (ContinuousClock.Instant) -> Void
    ) throws {
        let context = try Context()
        let socket = try Socket(context, type: .pull)
        try socket.setLinger(0)
        try socket.setReceiveHighWaterMark(hwm)
        publish(try socket.bindResolved("tcp://127.0.0.1:*"))
        var bytes = 0
        for batch in batches {
            var received = 0
            while received < batch {
                guard let frames = try socket.receive() else { continue }
                bytes &+= frames.count
                received += 1
            }
            record(.now)
        }
        precondition(bytes >= 0)
    }
}

/// The report PULL of a `.process` sink with its context, handed to the thread that reads it.
private final class OwnedSocket: @unchecked Sendable {
    // Unchecked: after `init` only the reporting thread touches the socket; `stopped` is atomic.
    private let context: Context
    private let socket: Socket
    private let stopped = Atomic<Bool>(false)

    init(context: Context, socket: consuming Socket) {
        self.context = context
        self.socket = socket
    }

    func stop() { stopped.store(true, ordering: .releasing) }

    /// Signals one batch per `batch` report until `batches` have come or ``stop()`` is called,
    /// waiting on the socket (a child that dies leaves `waitForBatch` to time out).
    func forward(batches: Int, into progress: PullSink.Progress) {
        var reported = 0
        while reported < batches, !stopped.load(ordering: .acquiring) {
            var items = [socket.pollItem()]
            guard (try? poll(&items, timeout: .milliseconds(200))) != nil else { return }
            while let frames = try? socket.receive(dontWait: true), let text = frames.first {
                guard text == Array("batch".utf8) else { continue }
                progress.state.withLock { $0.ends.append(.now) }
                progress.done.signal()
                reported += 1
            }
        }
    }
}
