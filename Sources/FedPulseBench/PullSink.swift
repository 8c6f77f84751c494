import CZeroMQ
import Dispatch
import Foundation
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
final class PullSink: Sendable {
    enum Kind: String, Sendable {
        case libzmq
        case wrapper
    }

    /// Batch completions, handed from the receiving thread to the caller.
    private final class Progress: Sendable {
        let done = DispatchSemaphore(value: 0)
        let state = Mutex<(ends: [ContinuousClock.Instant], failure: String?)>(([], nil))
    }

    let endpoint: String
    private let progress = Progress()

    /// Starts the receiving thread; returns once it is bound. `batches` are message counts.
    init(kind: Kind, batches: [Int], receiveHighWaterMark: Int32) throws {
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
                switch kind {
                case .libzmq:
                    try Self.receiveWithLibzmq(
                        batches: batches, hwm: receiveHighWaterMark, publish: publish, record: record)
                case .wrapper:
                    try Self.receiveWithWrapper(
                        batches: batches, hwm: receiveHighWaterMark, publish: publish, record: record)
                }
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
