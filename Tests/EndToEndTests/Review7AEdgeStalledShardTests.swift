import FedPulseTestSupport
import Foundation
import Learning
import Logging
import Runtime
import Synchronization
import Testing
import Wire
import ZeroMQ

/// A shard (a stolen shard key, or one wedged but still heartbeating) that accepts its devices'
/// connections and never reads from them.
///
/// Every member of a Poisson round answers, with an update or a decline, so each round.open
/// adds one message per hosted device to the edge's link to that shard. The edge sent them with
/// a blocking `zmq_send`: once the link's queue (and the TCP buffers) were full, the edge's
/// only thread waited forever, and every device it hosts stopped checking in, including those
/// assigned to honest shards. Here the test plays the coordinator (PUB + PULL) and the stalled
/// shard (a PULL that never reads) around a real edge loop.
@Suite(.timeLimit(.minutes(3)))
struct Review7AEdgeStalledShardTests {
    static let devices = 250

    final class Peers: Sendable {
        let broadcast = Mutex<String?>(nil)
        let control = Mutex<String?>(nil)
        let stalled = Mutex<String?>(nil)
        /// The newest `sentAtMillis` of any check-in the coordinator's PULL received.
        let lastCheckin = Mutex<Int64>(0)
        let publishedUpTo = Mutex<Int64?>(nil)
        let stop = Atomic<Bool>(false)
    }

    static func roundOpen(_ roundId: Int, shard endpoint: String, spec: ModelSpec) throws -> [[UInt8]] {
        var weights = Tensor.f32le(name: "weights", [Float](repeating: 0, count: spec.parameterCount))
        let digest = Digest.sha256Hex(weights.bytes)
        weights.sha256 = digest
        let body = RoundOpen(
            roundId: roundId,
            kind: .train,
            modelVersion: 0,
            modelDigest: digest,
            modelSpec: try JSONValue(encoding: spec),
            training: TrainingSettings(epochs: 1, batchSize: 16, learningRate: 0.1, l2: 0, proxMu: 0),
            privacy: PrivacySettings(placement: .central, clipNorm: 1, noiseMultiplier: 1, expectedCohort: 1),
            selection: .poisson,
            // Nobody samples itself: every member answers with a decline.
            samplingRate: 1e-12,
            shards: [
                ShardAssignment(
                    region: .watch,
                    shard: 0,
                    endpoint: endpoint,
                    members: (0..<devices).map { "watch-\($0)" }
                )
            ],
            globalEndpoint: "tcp://127.0.0.1:1",
            deadlineMillis: Clock.nowMillis() + 60_000,
            minParticipants: 1,
            samplingSeed: nil
        )
        return try WireCodec().encode(body, sender: "coordinator", tensors: [weights])
    }

    @Test func aShardThatNeverReadsDoesNotStopTheEdgesOtherWork() async throws {
        let spec = try ModelSpec.wearable(task: .sleepQuality)
        let generator = SyntheticWearables(task: .sleepQuality, seed: 7)
        let peers = Peers()
        // The coordinator and the stalled shard, on a thread of their own (their sockets live there).
        let fakes = Task {
            try await onOwnThread("review7a-peers") {
                let context = try Context()
                let broadcast = try Socket(context, type: .pub)
                try broadcast.setLinger(0)
                peers.broadcast.withLock { $0 = try? broadcast.bindResolved("tcp://127.0.0.1:*") }
                let control = try Socket(context, type: .pull)
                try control.setLinger(0)
                peers.control.withLock { $0 = try? control.bindResolved("tcp://127.0.0.1:*") }
                let stalled = try Socket(context, type: .pull)
                try stalled.setLinger(0)
                try stalled.setReceiveHighWaterMark(1)
                let shard = try stalled.bindResolved("tcp://127.0.0.1:*")
                peers.stalled.withLock { $0 = shard }
                var nextRound = 1
                var publishedAny = false
                while !peers.stop.load(ordering: .acquiring) {
                    var items = [control.pollItem()]
                    try poll(&items, timeout: .milliseconds(5))
                    while let frames = try control.receive(dontWait: true) {
                        if case .success(.checkin(let checkin)) = WireCodec().decode(frames) {
                            peers.lastCheckin.withLock { $0 = max($0, checkin.sentAtMillis ?? 0) }
                            publishedAny = true
                        }
                    }
                    // Once the edge is up, 400 rounds of 250 declines: far past the link's queue.
                    if publishedAny && nextRound <= 400 {
                        try broadcast.send(try Self.roundOpen(nextRound, shard: shard, spec: spec))
                        nextRound += 1
                        if nextRound > 400 { peers.publishedUpTo.withLock { $0 = Clock.nowMillis() } }
                    }
                }
            }
        }
        try await Poll.require("the fake peers bound", within: .seconds(30)) {
            peers.stalled.withLock { $0 } != nil
        }
        var config = EdgeConfig(
            devices: (0..<Self.devices).map {
                VirtualDevice(
                    id: "watch-\($0)",
                    deviceClass: .watch,
                    data: .synthetic(generator: generator, userIndex: $0)
                )
            },
            spec: spec
        )
        config.coordinatorBroadcast = try #require(peers.broadcast.withLock { $0 })
        config.coordinatorControl = try #require(peers.control.withLock { $0 })
        config.checkinIntervalMillis = 100
        let frozen = config
        let runner = try RoleRunner()
        // Each refused send is a log line; thousands of them are not this test's subject.
        let quiet = Logger(label: "review7a-edge", factory: { _ in SwiftLogNoOpLogHandler() })
        runner.start(name: "review7a-edge") { control in try EdgeRole(config: frozen, logger: quiet).run(control) }
        try await Poll.require("all 400 rounds published", within: .seconds(90)) {
            peers.publishedUpTo.withLock { $0 } != nil
        }
        let published = try #require(peers.publishedUpTo.withLock { $0 })
        // The edge's devices check in every 100 ms: one sent well after the last round.open
        // shows the loop got through every round and is still running.
        let alive = try await Poll.until(within: .seconds(45)) {
            peers.lastCheckin.withLock { $0 } > published + 2_000
        }
        #expect(alive, "no check-in since the rounds: the edge's loop is stuck sending to the stalled shard")
        peers.stop.store(true, ordering: .releasing)
        try await fakes.value
        guard alive else { return }  // a loop stuck in zmq_send cannot be stopped
        runner.requestStop()
        try await runner.waitUntilFinished()
    }
}
