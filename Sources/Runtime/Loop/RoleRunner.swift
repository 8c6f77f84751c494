import Foundation
import Synchronization
public import ZeroMQ

/// What a role's loop sees of its runner: whether to stop, and the wake-up to poll on.
public struct LoopControl: Sendable {
    let stopFlag: StopFlag
    /// Poll this beside the role's sockets so that ``RoleRunner/requestStop()`` ends the poll at once.
    public let wakeup: Wakeup

    /// Whether the loop should drain and return.
    public var shouldStop: Bool { stopFlag.isSet }
}

final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
    /// Sets the flag; `true` only for the one caller that found it unset.
    func setIfUnset() -> Bool { !flag.exchange(true, ordering: .acquiringAndReleasing) }
}

/// Runs one role's event loop on a dedicated OS thread.
///
/// A role blocks in `zmq_poll`; on Swift's cooperative pool (one thread per core, two here)
/// that would stall every other task, signal handling included. So each role owns a thread,
/// its sockets live and die on it, and the async side only asks it to stop and waits for it.
public final class RoleRunner: Sendable {
    private let stopFlag = StopFlag()
    private let wakeup: Wakeup
    private let outcome = Mutex<Outcome>(.notStarted)

    private enum Outcome {
        case notStarted
        case running([CheckedContinuation<Void, any Error>])
        case finished((any Error)?)
    }

    public init() throws(ZeroMQError) {
        wakeup = try Wakeup()
    }

    /// Starts `body` on a new thread named `name`; it should return once `shouldStop` is set.
    public func start(name: String, _ body: @escaping @Sendable (LoopControl) throws -> Void) {
        outcome.withLock { $0 = .running([]) }
        let control = LoopControl(stopFlag: stopFlag, wakeup: wakeup)
        let thread = Thread { [self] in
            Self.nameThisThread(name)
            var failure: (any Error)?
            do { try body(control) } catch { failure = error }
            let waiters = outcome.withLock { state -> [CheckedContinuation<Void, any Error>] in
                defer { state = .finished(failure) }
                if case .running(let waiters) = state { return waiters }
                return []
            }
            for waiter in waiters {
                if let failure { waiter.resume(throwing: failure) } else { waiter.resume() }
            }
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Gives the calling thread `name` in the kernel (its first 15 bytes, Linux's limit), so that
    /// `top -H`, `perf` and `/proc/<pid>/task/*/comm` tell a role's loop from libzmq's I/O threads;
    /// `Thread.name` alone does not reach the kernel on Linux.
    /// (Written to `/proc/thread-self/comm`, as proc(5) allows: `pthread_setname_np` is not in
    /// Swift's Glibc module. Where there is no such file, the thread keeps the process's name.)
    static func nameThisThread(_ name: String) {
        let bytes = Data(name.utf8.prefix(15))
        guard let comm = FileHandle(forWritingAtPath: "/proc/thread-self/comm") else { return }
        try? comm.write(contentsOf: bytes)
        try? comm.close()
    }

    /// Asks the loop to stop; safe from any thread or signal-handling task.
    public func requestStop() {
        stopFlag.set()
        wakeup.signal()
    }

    /// Waits until the loop has returned, rethrowing what it threw.
    public func waitUntilFinished() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result: Result<Void, any Error>? = outcome.withLock { state in
                switch state {
                case .notStarted: return .success(())
                case .running(var waiters):
                    waiters.append(continuation)
                    state = .running(waiters)
                    return nil
                case .finished(let failure): return failure.map { .failure($0) } ?? .success(())
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
