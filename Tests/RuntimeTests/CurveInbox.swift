import Foundation
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import Wire
import ZeroMQ

@testable import Runtime

/// A CURVE PULL under a ``RoleLoop`` whose ZAP handler admits `allowlist`: the receiving end of
/// the "who may say this" tests, which then play enrolled (or posing) clients against it.
///
/// Every message the loop hands over is recorded as its identity (a refused one as
/// `(refused)`), so a test waits for a count and compares who got through as proven.
final class CurveInbox {
    enum Name: Hashable, Sendable { case inbox }

    let context: Context
    let serverKeys: CurveKeyPair
    let endpoint: String
    private let zap: ZAPHandler
    private let runner: RoleRunner
    private let delivered: Recorded
    private let arrived: AsyncStream<Int>

    /// What reached the role, shared by the loop's thread and the test.
    final class Recorded: Sendable {
        let identities = Mutex<[PeerIdentity]>([])
    }

    /// Starts the loop with `metrics` as its metrics factory and returns once it listens.
    static func start(allowlist: CurveAllowlist, metrics: TestMetrics) async throws -> CurveInbox {
        let context = try Context()
        let serverKeys = try CurveKeyPair.generate()
        let zap = ZAPHandler(context: context, allowlist: allowlist)
        try zap.start()
        let runner = try RoleRunner()
        let delivered = Recorded()
        let bound = Mutex<String?>(nil)
        let ready = AsyncStream<Void>.makeStream()
        let arrived = AsyncStream<Int>.makeStream()
        runner.start(name: "curve-inbox") { control in
            try withMetricsFactory(metrics) {
                let loop = RoleLoop<Name>(
                    control: control,
                    messenger: Messenger(role: "test", sender: "test", logger: Logger(label: "test"))
                )
                let pull = try Socket(context, type: .pull)
                try pull.setLinger(0)
                try pull.makeCurveServer(secretKey: serverKeys.secretKey)
                try pull.setZAPDomain("fedpulse")
                bound.withLock { $0 = try? pull.bindResolved("tcp://127.0.0.1:*") }
                loop.add(.inbox, pull)
                ready.continuation.yield()
                try loop.run(
                    nextTimer: { Clock.nowMillis() + 50 },
                    received: { _, incoming in
                        let count = delivered.identities.withLock { seen in
                            seen.append(incoming.identity ?? PeerIdentity(claimed: "(refused)"))
                            return seen.count
                        }
                        arrived.continuation.yield(count)
                    },
                    timer: { _ in }
                )
            }
        }
        for await _ in ready.stream { break }
        guard let endpoint = bound.withLock({ $0 }) else {
            runner.requestStop()
            zap.stop()
            throw ZeroMQError(call: "bindResolved", code: 0)
        }
        return CurveInbox(
            context: context,
            serverKeys: serverKeys,
            endpoint: endpoint,
            zap: zap,
            runner: runner,
            delivered: delivered,
            arrived: arrived.stream
        )
    }

    private init(
        context: Context,
        serverKeys: CurveKeyPair,
        endpoint: String,
        zap: ZAPHandler,
        runner: RoleRunner,
        delivered: Recorded,
        arrived: AsyncStream<Int>
    ) {
        self.context = context
        self.serverKeys = serverKeys
        self.endpoint = endpoint
        self.zap = zap
        self.runner = runner
        self.delivered = delivered
        self.arrived = arrived
    }

    /// A PUSH connected as the CURVE client `keys` (the suite's time limit bounds the wait).
    func client(_ keys: CurveKeyPair) throws -> Socket {
        let push = try Socket(context, type: .push)
        try push.setLinger(1_000)
        try push.makeCurveClient(serverPublicKey: serverKeys.publicKey, keys: keys)
        try push.connect(endpoint)
        return push
    }

    /// Waits until `count` messages have reached the role, stops the loop and returns who sent them.
    func identities(after count: Int) async throws -> [PeerIdentity] {
        for await seen in arrived where seen >= count { break }
        runner.requestStop()
        try await runner.waitUntilFinished()
        zap.stop()
        return delivered.identities.withLock { $0 }
    }
}
