import Foundation
import InMemoryLogging
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import Testing
import Wire
import ZeroMQ

@testable import Runtime

/// The one loop every role runs on: it must survive whatever a peer sends and whatever a
/// handler throws, and it must stop quickly when asked.
@Suite(.timeLimit(.minutes(1)))
struct RoleLoopTests {
    enum Name: Hashable, Sendable { case inbox }

    struct HandlerFailure: Error {}

    /// Plays a peer that sends garbage, then a message that makes the handler throw, then a good
    /// one: the loop must count and log both failures and still deliver the good message.
    @Test func garbageAndAThrowingHandlerAreCountedAndTheLoopGoesOn() async throws {
        let logs = InMemoryLogHandler()
        let metrics = TestMetrics()
        let logger = Logger(label: "test", factory: { _ in logs })
        let endpoint = Mutex<String?>(nil)
        let delivered = Mutex<[String]>([])
        let runner = try RoleRunner()
        let ready = AsyncStream<Void>.makeStream()
        let done = AsyncStream<Void>.makeStream()
        runner.start(name: "loop-test") { control in
            try withMetricsFactory(metrics) {
                let context = try Context()
                let messenger = Messenger(role: "test", sender: "test", logger: logger)
                let loop = RoleLoop<Name>(control: control, messenger: messenger)
                let pull = try Socket(context, type: .pull)
                try pull.setLinger(0)
                endpoint.withLock { $0 = try? pull.bindResolved("tcp://127.0.0.1:*") }
                loop.add(.inbox, pull)
                ready.continuation.yield()
                try loop.run(
                    nextTimer: { Clock.nowMillis() + 50 },
                    received: { _, incoming in
                        guard case .success(let message)? = incoming.message else { return }
                        if message.sender == "thrower" { throw HandlerFailure() }
                        delivered.withLock { $0.append(message.sender) }
                        if message.sender == "honest" { done.continuation.yield() }
                    },
                    timer: { _ in }
                )
            }
        }
        for await _ in ready.stream { break }
        let address = try #require(endpoint.withLock { $0 })
        let context = try Context()
        let push = try Socket(context, type: .push)
        try push.setLinger(1_000)
        try push.connect(address)
        let codec = WireCodec()
        let end = RunEnd(reason: "roundLimit", finalRound: 1, modelVersion: 1)
        try push.send([Array("update".utf8), Array("{not json".utf8)])
        try push.send([[0xFF, 0x00]])
        try push.send(try codec.encode(end, sender: "thrower"))
        try push.send(try codec.encode(end, sender: "honest"))
        for await _ in done.stream { break }
        runner.requestStop()
        try await runner.waitUntilFinished()

        #expect(delivered.withLock { $0 } == ["honest"])
        #expect(
            try metrics.expectCounter("fedpulse_loop_failures_total", [("role", "test"), ("stage", "handler")]).values
                == [1]
        )
        let rejected = metrics.counters.filter { $0.label == "fedpulse_rejected_total" }.flatMap(\.values).reduce(0, +)
        #expect(rejected == 2)
        #expect(logs.entries.contains { $0.metadata["loop.stage"] == "handler" })
    }

    /// Plays an enrolled device that claims to be another one: the loop refuses the claim
    /// (`senderMismatch`) before the role sees it, and hands the honest claim over as proven.
    @Test func aClaimThatDisagreesWithTheKeyIsRefusedBeforeTheRoleSeesIt() async throws {
        let metrics = TestMetrics()
        let watch3 = try CurveKeyPair.generate()
        let inbox = try await CurveInbox.start(
            allowlist: CurveAllowlist(names: [watch3.publicKey: "watch-3"]),
            metrics: metrics
        )
        let push = try inbox.client(watch3)
        let end = RunEnd(reason: "roundLimit", finalRound: 1, modelVersion: 1)
        try push.send(try WireCodec().encode(end, sender: "watch-4"))
        try push.send(try WireCodec().encode(end, sender: "watch-3"))
        // The refused claim reaches the role as a failure, without an identity.
        #expect(
            try await inbox.identities(after: 2) == [
                PeerIdentity(claimed: "(refused)"), PeerIdentity(claimed: "watch-3", authenticated: "watch-3"),
            ]
        )
        #expect(
            try metrics.expectCounter("fedpulse_rejected_total", [("role", "test"), ("reason", "senderMismatch")])
                .values == [1]
        )
    }

    /// A socket whose peer is gone would hold a stopping process for its whole linger; the loop
    /// cuts linger to `stopLingerMillis` once a stop is requested.
    @Test func aStopRequestCutsTheLingerOfEverySocket() async throws {
        let lingerAfterStop = Mutex<Int32?>(nil)
        let runner = try RoleRunner()
        let started = AsyncStream<Void>.makeStream()
        runner.start(name: "linger-test") { control in
            let context = try Context()
            let loop = RoleLoop<Name>(
                control: control,
                messenger: Messenger(role: "test", sender: "test", logger: Logger(label: "test"))
            )
            let push = try Socket(context, type: .push)
            try push.setLinger(60_000)
            try push.connect("tcp://127.0.0.1:1")  // nobody listens: a queued message could linger a minute
            _ = try push.send([[1]], dontWait: true)
            loop.add(.inbox, push, polled: false)
            started.continuation.yield()
            try loop.run(nextTimer: { Clock.nowMillis() + 1_000 }, received: { _, _ in }, timer: { _ in })
            lingerAfterStop.withLock { $0 = try? loop.socket(.inbox)?.socket.linger() }
        }
        for await _ in started.stream { break }
        runner.requestStop()
        try await runner.waitUntilFinished()
        #expect(lingerAfterStop.withLock { $0 } == 500)
    }

    /// A role's loop thread carries its name in the kernel (what `top -H`, `perf` and the ingest
    /// bench's per-thread CPU read), cut to Linux's 15 bytes.
    @Test func aRoleLoopThreadIsNamedInTheKernel() async throws {
        let seen = Mutex<String?>(nil)
        let runner = try RoleRunner()
        runner.start(name: "region-watch-12-long") { _ in
            let comm = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            seen.withLock { $0 = comm?.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        try await runner.waitUntilFinished()
        #expect(seen.withLock { $0 } == "region-watch-12")
    }

    /// A role whose nearest deadline is absurdly far in the past (Int64.min) gets its timer at
    /// once, round after round, instead of trapping the loop in `deadline − now`.
    @Test func aDeadlineAtInt64MinFiresTheTimerInsteadOfTrapping() async throws {
        let ticks = Mutex(0)
        let runner = try RoleRunner()
        runner.start(name: "min-deadline") { control in
            let loop = RoleLoop<Name>(
                control: control,
                messenger: Messenger(role: "test", sender: "test", logger: Logger(label: "test"))
            )
            try loop.run(
                nextTimer: { .min },
                received: { _, _ in },
                timer: { _ in ticks.withLock { $0 += 1 } },
                isFinished: { ticks.withLock { $0 } >= 3 }
            )
        }
        try await runner.waitUntilFinished()
        #expect(ticks.withLock { $0 } == 3)
    }
}
