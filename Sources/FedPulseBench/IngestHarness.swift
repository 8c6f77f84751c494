import Foundation
import Logging
import Runtime
import Wire
import ZeroMQ

/// Where the regional aggregator under test runs.
enum ShardPlacement: String, Sendable {
    /// `RegionalAggregatorRole` on its own thread of this process, via `RoleRunner`.
    case thread
    /// A separate `fedpulse aggregator --tier region` process, so its memory is its own.
    case process
}

/// One regional shard under test, with this process acting as its coordinator (PUB + control
/// PULL), its workers (a PUSH sending `update` messages) and the global aggregator (a PULL
/// receiving the `partial`).
///
/// The same PUSH settings are used for the raw baselines, so a ratio compares receive paths only.
struct IngestHarness: ~Copyable {
    static let sendHighWaterMark: Int32 = 8
    /// What `RegionalAggregatorRole` sets on its update PULL (the raw sinks use the same).
    static let shardReceiveHighWaterMark = RegionalAggregatorConfig(region: "watch", shard: 0)
        .updateReceiveHighWaterMark

    let parameterCount: Int
    let context: Context
    let broadcast: Socket
    let control: Socket
    let global: Socket
    let workers: Socket
    let shardEndpoint: String
    let globalEndpoint: String
    let codec = WireCodec()
    let runner: RoleRunner?
    let children: ChildProcesses?
    let child: ChildProcesses.Child?
    let delta: Tensor
    private(set) var nextRoundId = 1

    init(placement: ShardPlacement, parameterCount: Int, fedpulse: String, workDirectory: String) throws {
        // Everything is built in locals first: a non-copyable struct cannot be left half
        // initialised by a throw.
        let context = try Context()
        let broadcast = try Socket(context, type: .pub)
        try broadcast.setLinger(0)
        let broadcastEndpoint = try broadcast.bindResolved("tcp://127.0.0.1:*")
        let control = try Socket(context, type: .pull)
        try control.setLinger(0)
        let controlEndpoint = try control.bindResolved("tcp://127.0.0.1:*")
        let global = try Socket(context, type: .pull)
        try global.setLinger(0)
        let globalEndpoint = try global.bindResolved("tcp://127.0.0.1:*")

        var runner: RoleRunner?
        var children: ChildProcesses?
        var child: ChildProcesses.Child?
        switch placement {
        case .thread:
            var config = RegionalAggregatorConfig(region: "watch", shard: 0)
            config.coordinatorBroadcast = broadcastEndpoint
            config.coordinatorControl = controlEndpoint
            var logger = Logger(label: "fedpulse.bench.region") { _ in SwiftLogNoOpLogHandler() }
            logger.logLevel = .warning
            let role = RegionalAggregatorRole(config: config, logger: logger)
            let started = try RoleRunner()
            started.start(name: Self.shardThreadName) { control in try role.run(control) }
            runner = started
        case .process:
            let logs = URL(fileURLWithPath: workDirectory).appendingPathComponent("ingest-shard-\(getpid())/logs")
            let launcher = try ChildProcesses(executable: URL(fileURLWithPath: fedpulse), logDirectory: logs)
            child = try launcher.launch(
                name: "region-watch-0",
                arguments: [
                    "aggregator", "--tier", "region", "--region", "watch", "--shard", "0",
                    "--coordinator-broadcast", broadcastEndpoint, "--coordinator-control", controlEndpoint,
                    "--log-level", "warning",
                ]
            )
            children = launcher
        }

        // The shard announces its update endpoint in its first heartbeat.
        let codec = WireCodec()
        let deadline = ContinuousClock.now + .seconds(30)
        var learned: String?
        while learned == nil {
            guard ContinuousClock.now < deadline else {
                runner?.requestStop()
                children?.stopAll(grace: .seconds(1))
                throw BenchError("no aggregator.hello from the shard within 30 s")
            }
            var items = [control.pollItem()]
            try poll(&items, timeout: .milliseconds(200))
            while let frames = try control.receive(dontWait: true) {
                if case .success(.aggregatorHello(let hello)) = codec.decode(frames), hello.body.tier == .region {
                    learned = hello.body.endpoint
                }
            }
        }
        let shardEndpoint = learned ?? ""
        let workers = try Socket(context, type: .push)
        try workers.setLinger(0)
        try workers.setSendHighWaterMark(Self.sendHighWaterMark)
        try workers.connect(shardEndpoint)

        self.parameterCount = parameterCount
        self.context = context
        self.broadcast = broadcast
        self.control = control
        self.global = global
        self.workers = workers
        self.shardEndpoint = shardEndpoint
        self.globalEndpoint = globalEndpoint
        self.runner = runner
        self.children = children
        self.child = child
        delta = Tensor.f32le(name: "delta", (0..<parameterCount).map { Float($0 % 1_000) * 1e-6 })
    }

    /// User + system CPU seconds and minor page faults of the shard's process so far (`.process` only).
    var shardProcessUsage: (cpuSeconds: Double, minorFaults: Double)? { child.flatMap { usageOfProcess(pid: $0.pid) } }

    /// The same for the shard's role thread (`.thread` only): decode, admission and fold, without
    /// the libzmq I/O thread that receives for it.
    var shardThreadUsage: (cpuSeconds: Double, minorFaults: Double)? {
        runner == nil ? nil : usageOfThread(named: Self.shardThreadName)
    }

    /// The name of the shard's thread under `.thread` (at most 15 bytes: Linux's limit).
    static let shardThreadName = "region-watch-0"

    /// The peak resident memory of the shard's process (this process for `.thread`).

    var shardPeakBytes: Int? {
        if let children, let child { return children.peakResidentBytes(child) }
        return procStatusBytes(field: "VmHWM")
    }

    /// The `update` messages of `members` for a round, encoded and validated by the Wire codec.
    /// All of them share one `delta` byte buffer, so preparing 200 costs one 4 MB tensor.
    func updates(roundId: Int, members: [String]) throws -> [[[UInt8]]] {
        try members.map { member in
            let body = Update(
                roundId: roundId,
                modelVersion: roundId,
                workerId: member,
                deviceClass: .watch,
                shard: 0,
                weight: 1,
                norm: 1,
                clipped: false
            )
            return try codec.encode(body, sender: member, sentAtMillis: Clock.nowMillis(), tensors: [delta])
        }
    }

    func roundOpen(roundId: Int, members: [String]) throws -> [[UInt8]] {
        var weights = Tensor.f32le(name: "weights", [Float](repeating: 0, count: parameterCount))
        weights.sha256 = Digest.sha256Hex(weights.bytes)
        let body = RoundOpen(
            roundId: roundId,
            kind: .train,
            modelVersion: roundId,
            modelDigest: weights.sha256 ?? "",
            modelSpec: .object(["benchmark": .string("ingest")]),
            training: TrainingSettings(epochs: 1, batchSize: 16, learningRate: 0.1, l2: 0, proxMu: 0),
            privacy: PrivacySettings(
                placement: .off,
                clipNorm: nil,
                noiseMultiplier: 0,
                expectedCohort: max(1, members.count)
            ),
            shards: [ShardAssignment(region: .watch, shard: 0, endpoint: shardEndpoint, members: members)],
            globalEndpoint: globalEndpoint,
            deadlineMillis: Clock.nowMillis() + 600_000,
            minParticipants: 1,
            samplingSeed: 0
        )
        return try codec.encode(body, sender: "coordinator", sentAtMillis: Clock.nowMillis(), tensors: [weights])
    }

    /// A one-member round, re-announced until its partial comes back: afterwards the shard is
    /// subscribed, connected upward, and has allocated its sum once.
    mutating func warmUp() throws {
        let roundId = nextRoundId
        nextRoundId += 1
        let members = ["warmup-\(roundId)"]
        let open = try roundOpen(roundId: roundId, members: members)
        let update = try updates(roundId: roundId, members: members)
        let deadline = ContinuousClock.now + .seconds(30)
        var sentUpdate = false
        while ContinuousClock.now < deadline {
            try broadcast.send(open)
            if !sentUpdate {
                try workers.send(update[0])
                sentUpdate = true
            }
            if try receivePartial(roundId: roundId, expected: 1, timeout: .milliseconds(200)) != nil { return }
        }
        throw BenchError("warm-up round got no partial within 30 s")
    }

    /// Messages for the next timed round (prepared before the clock starts).
    mutating func prepareRound(members count: Int) throws -> (roundId: Int, open: [[UInt8]], updates: [[[UInt8]]]) {
        let roundId = nextRoundId
        nextRoundId += 1
        let members = (0..<count).map { "worker-\(roundId)-\($0)" }
        return (
            roundId, try roundOpen(roundId: roundId, members: members), try updates(roundId: roundId, members: members)
        )
    }

    /// Announces the round, then times from the first update sent to the partial received.
    /// With `pace`, the sender waits that long after each update (a slower cohort).
    func timeRound(
        _ round: (roundId: Int, open: [[UInt8]], updates: [[[UInt8]]]),
        pace: Duration? = nil
    ) throws
        -> Double
    {
        try broadcast.send(round.open)
        // Updates that overtake the round.open are held in the shard's 64 MiB early buffer and
        // refused beyond it, which would leave the round waiting for its deadline: give the
        // broadcast a head start, outside the timed span.
        Thread.sleep(forTimeInterval: 0.05)
        let start = ContinuousClock.now
        for frames in round.updates {
            try workers.send(frames)
            if let pace { Thread.sleep(forTimeInterval: secondsOf(pace)) }
        }
        guard
            let end = try receivePartial(roundId: round.roundId, expected: round.updates.count, timeout: .seconds(300))
        else {
            throw BenchError("round \(round.roundId): no partial within 300 s")
        }
        return secondsOf(end - start)
    }

    /// Waits for the shard's partial of `roundId`; checks it counted every update.
    func receivePartial(roundId: Int, expected: Int, timeout: Duration) throws -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var items = [global.pollItem()]
            try poll(&items, timeout: .milliseconds(100))
            while let frames = try global.receive(dontWait: true) {
                let arrived = ContinuousClock.now
                guard case .success(.partial(let partial)) = codec.decode(frames) else {
                    throw BenchError("the global PULL received something other than a valid partial")
                }
                guard partial.body.roundId == roundId else { continue }
                guard partial.body.contributors == expected else {
                    throw BenchError(
                        "partial of round \(roundId) counts \(partial.body.contributors) of \(expected) updates (rejected: \(partial.body.rejected))"
                    )
                }
                return arrived
            }
            // Heartbeats pile up on the control PULL otherwise.
            while try control.receive(dontWait: true) != nil {}
        }
        return nil
    }

    /// Stops the shard (thread or process).
    func stop() {
        runner?.requestStop()
        children?.stopAll(grace: .seconds(3))
    }
}
