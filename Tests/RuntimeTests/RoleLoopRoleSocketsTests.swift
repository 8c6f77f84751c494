import Foundation
import Logging
import Synchronization
import Testing
import ZeroMQ

@testable import Runtime

/// Sockets a role opens while its loop runs (a device's DEALER for one secure round) are polled
/// with the loop's own, so what arrives on them is handled at once instead of on a timer.
@Suite(.timeLimit(.minutes(1)))
struct RoleLoopRoleSocketsTests {
    enum Name: Hashable, Sendable { case unused }

    /// Sockets are non-copyable; a role keeps them in objects, as `SecAggDeviceChannel` does.
    final class Owned {
        let socket: Socket
        init(_ socket: consuming Socket) { self.socket = socket }
    }

    /// A PULL opened from inside the timer, after `run` started: its message reaches
    /// `roleSocketsReady` while the loop's timer is an hour away, so only the poll can wake it.
    @Test func aSocketOpenedWhileTheLoopRunsIsPolled() async throws {
        let endpoint = Mutex<String?>(nil)
        let received = Mutex<[[UInt8]]>([])
        let runner = try RoleRunner()
        let opened = AsyncStream<Void>.makeStream()
        let done = AsyncStream<Void>.makeStream()
        runner.start(name: "role-sockets") { control in
            let context = try Context()
            let loop = RoleLoop<Name>(
                control: control,
                messenger: Messenger(role: "test", sender: "test", logger: Logger(label: "test"))
            )
            var pulls: [Owned] = []
            try loop.run(
                nextTimer: { pulls.isEmpty ? Clock.nowMillis() : Clock.nowMillis() + 3_600_000 },
                received: { _, _ in },
                timer: { _ in
                    guard pulls.isEmpty else { return }
                    let pull = Owned(try Socket(context, type: .pull))
                    try pull.socket.setLinger(0)
                    endpoint.withLock { $0 = try? pull.socket.bindResolved("tcp://127.0.0.1:*") }
                    pulls.append(pull)
                    opened.continuation.yield()
                },
                roleSockets: { pulls.map { $0.socket.pollItem() } },
                roleSocketsReady: { ready in
                    for index in ready {
                        while let frames = try? pulls[index].socket.receive(dontWait: true) {
                            received.withLock { $0 += frames }
                        }
                    }
                    done.continuation.yield()
                }
            )
        }
        for await _ in opened.stream { break }
        let address = try #require(endpoint.withLock { $0 })
        let context = try Context()
        let push = try Socket(context, type: .push)
        try push.setLinger(1_000)
        try push.connect(address)
        try push.send([Array("late".utf8)])
        for await _ in done.stream { break }
        runner.requestStop()
        try await runner.waitUntilFinished()
        #expect(received.withLock { $0 } == [Array("late".utf8)])
    }
}
