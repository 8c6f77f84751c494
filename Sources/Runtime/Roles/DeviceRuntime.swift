import Foundation
import Learning
import Logging
import Metrics
import Privacy
import Rounds
import Wire
import ZeroMQ

/// One virtual device inside an edge process: its identity, its data and its round memory.
///
/// A class, not a struct: it lives in an array of the edge loop, on the loop's thread only. Its
/// way out is the edge's ``EdgeLinks`` (its own sockets under a device key, or the sockets every
/// device of the process shares under the edge key); broadcasts reach it decoded, once for all
/// devices, through ``BroadcastCache``.
final class DeviceRuntime {
    enum BroadcastOutcome { case continuing, runEnded }

    let device: VirtualDevice
    let wireClass: DeviceClassName
    let config: EdgeConfig
    let logger: Logger
    let messenger: Messenger
    let links: EdgeLinks
    /// The device's place in the edge (its RNG stream, its sockets in `perDevice` mode).
    let index: Int
    var lastRoundId = 0
    var nextCheckin: Int64 = 0
    var pending: (frames: [[UInt8]], due: Int64, shardName: String, endpoint: String, roundId: Int)?
    /// The device's records, loaded once; datasets are derived per spec.
    var records: DeviceData
    var datasets: (spec: ModelSpec, train: Dataset, holdOut: Dataset)?
    var rng: SeededGenerator
    /// Noise and self-sampling: a CSPRNG (getrandom on Linux), never the seeded generator, so
    /// nobody who knows the seed can predict the noise or who sampled themselves.
    var secureRNG = SystemRandomNumberGenerator()
    /// Error feedback: what compressed rounds have not sent yet (stays on the device).
    var residual: [Float] = []
    /// The edge's secure-aggregation channels: a round with `secureAggregation` goes there.
    var secAgg: SecAggEdge?
    private let refusedRounds = Counter(
        label: "fedpulse_updates_skipped_total",
        dimensions: [("role", "edge"), ("reason", "unprotected")]
    )
    private let skippedDiverged = Counter(
        label: "fedpulse_updates_skipped_total",
        dimensions: [("role", "edge"), ("reason", "diverged")]
    )

    /// Loads the device's records; its sockets are the edge's ``EdgeLinks``.
    init(device: VirtualDevice, index: Int, config: EdgeConfig, links: EdgeLinks, logger: Logger) throws {
        self.device = device
        self.index = index
        self.links = links
        wireClass = device.deviceClass.wireName
        self.config = config
        var deviceLogger = logger
        deviceLogger[metadataKey: "worker.id"] = "\(device.id)"
        self.logger = deviceLogger
        messenger = Messenger(role: "edge", sender: device.id, logger: deviceLogger)
        rng = SeededGenerator(seed: config.seed, stream: UInt64(index))
        nextCheckin = Clock.nowMillis()
        records = try device.data.load(deviceClass: device.deviceClass, spec: config.spec)
    }

    var nextDue: Int64 { min(nextCheckin, pending?.due ?? .max) }

    func checkInIfDue(now: Int64, loop: RoleLoop<Int>) {
        guard now >= nextCheckin else { return }
        let checkin = Checkin(
            workerId: device.id,
            deviceClass: wireClass,
            eligibility: Eligibility(
                consent: device.eligibility.consent,
                charging: device.eligibility.charging,
                unmetered: device.eligibility.unmetered,
                batteryPercent: device.eligibility.batteryPercent
            ),
            // Whether the device has data, not how much: the coordinator needs no more (it checks
            // > 0), and an exact count, sent every second, is data about the user that no DP
            // guarantee covers.
            trainExamples: min(records.train.count, 1),
            holdoutExamples: min(records.holdOut.count, 1)
        )
        send(loop) {
            let frames = try messenger.codec.encode(checkin, sender: device.id, sentAtMillis: now)
            return try links.sendControl(frames, device: index, messenger: messenger)
        }
        nextCheckin = now + config.checkinIntervalMillis
    }

    /// One broadcast, decoded once for every device of the edge.
    func broadcastReceived(
        _ decoded: Result<AnyMessage, WireError>,
        cache: BroadcastCache,
        loop: RoleLoop<Int>
    ) throws -> BroadcastOutcome {
        switch decoded {
        case .success(.runEnd):
            return .runEnded
        case .success(.roundOpen(let open)) where open.body.roundId > lastRoundId:
            lastRoundId = open.body.roundId
            try roundOpened(open, cache: cache, loop: loop)
        default:
            break
        }
        return .continuing
    }

    /// Never blocks: a link whose queue is full (a shard that stopped reading) refuses the update,
    /// counted and logged as `peer queue full`. A blocking send there waited forever, and the
    /// edge's one thread with it: every hosted device stopped checking in and sending elsewhere.
    func sendIfDue(now: Int64, loop: RoleLoop<Int>) {
        guard let pending, now >= pending.due else { return }
        send(loop) { try sendPending(pending) }
        self.pending = nil
    }

    /// Sends a held-back update before exiting, so nothing trained is dropped by a clean stop.
    func flushBeforeExit(loop: RoleLoop<Int>) {
        if let pending { send(loop) { try sendPending(pending) } }
        pending = nil
    }

    private func sendPending(
        _ pending: (frames: [[UInt8]], due: Int64, shardName: String, endpoint: String, roundId: Int)
    ) throws -> Bool {
        try links.sendUpdate(
            pending.frames,
            device: index,
            shardName: pending.shardName,
            endpoint: pending.endpoint,
            roundId: pending.roundId,
            messenger: messenger,
            dontWait: true
        )
    }

    /// A send on the device's links; a failure is counted and logged by the loop.
    private func send(_ loop: RoleLoop<Int>, _ body: () throws -> Bool) {
        do {
            if try !body() { loop.failed("send", "\(device.id): peer queue full", level: .notice) }
        } catch {
            loop.failed("send", "\(device.id): \(error)")
        }
    }

    /// The device's data under the round's spec; generated or parsed once per spec.
    private func data(for spec: ModelSpec) throws -> (train: Dataset, holdOut: Dataset) {
        if let datasets, datasets.spec == spec { return (datasets.train, datasets.holdOut) }
        guard spec.hasSameShape(as: config.spec) else {
            throw RoleError("the round's model (\(spec.featureNames)) is not the one this device's data was loaded for")
        }
        let built = (
            spec: spec, train: try records.train.dataset(spec: spec), holdOut: try records.holdOut.dataset(spec: spec)
        )
        datasets = built
        return (built.train, built.holdOut)
    }

    private func roundOpened(_ open: Message<RoundOpen>, cache: BroadcastCache, loop: RoleLoop<Int>) throws {
        let round = open.body
        let assignment: ShardAssignment
        switch EdgeRound.participation(in: round, workerId: device.id, deviceClass: wireClass, using: &secureRNG) {
        case .notInvited: return
        case .refused(let why):
            refuse(round, why)
            return
        case .declined(_, _) where round.secureAggregation != nil:
            // Under SecAgg a member that did not sample itself still takes part, with a zero
            // vector of weight 0: a silent member would be a dropout the graph must absorb.
            guard let secAgg, let assignment = round.shards.first(where: { $0.members.contains(device.id) }) else {
                return
            }
            let zero = [Float](repeating: 0, count: open.tensor(named: "weights")?.elementCount ?? 0)
            secAgg.start(
                open,
                assignment: assignment,
                deviceId: device.id,
                keys: links.keyPair(forDevice: index),
                delta: zero,
                weight: 0,
                loop: loop
            )
            return
        case .declined(let decline, let endpoint):
            logger.debug("not sampled this round; declining", metadata: ["round.id": "\(round.roundId)"])
            try queue(decline, tensors: [], to: endpoint, loop: loop)
            return
        case .selected(let selected): assignment = selected
        }
        let prepared: BroadcastCache.PreparedModel
        switch try cache.prepare(open) {
        case .success(let model): prepared = model
        case .failure(let error):
            messenger.reject(error.code, detail: error.detail, sender: open.sender, roundId: round.roundId)
            return
        }
        logger.debug("round received", metadata: ["round.id": "\(round.roundId)"])
        let spec = prepared.spec
        if round.kind == .statistics {
            try sendStatistics(round: round, assignment: assignment, spec: spec, loop: loop)
            return
        }
        let data = try data(for: spec)
        let global = prepared.weights
        let isPrivate = round.privacy.placement != .off
        // Under DP the device's own evaluation never leaves it, so it is not computed.
        let evaluation = isPrivate ? nil : try Evaluator.evaluate(spec: spec, weights: global, data: data.holdOut)
        let settings = round.training
        let trainingConfig = TrainingConfig(
            learningRate: Float(settings.learningRate),
            localEpochs: settings.epochs,
            batchSize: settings.batchSize,
            l2: Float(settings.l2),
            proximalMu: Float(settings.proxMu)
        )
        let local = try LocalTrainer.train(
            spec: spec,
            globalWeights: global,
            data: data.train,
            config: trainingConfig,
            rng: &rng
        )
        var delta = zip(local, global).map { $0 - $1 }
        if config.poisonScale != 1 { delta = delta.map { $0 * Float(config.poisonScale) } }
        if let why = EdgeRound.divergence(localWeights: local, deltaNorm: Clipping.l2Norm(delta)) {
            skippedDiverged.increment()
            logger.warning(
                "local training diverged; this round's update is skipped",
                metadata: ["round.id": "\(round.roundId)", "skip.detail": "\(why)"]
            )
            return
        }
        let shaped: UpdateShaping.Outcome
        switch UpdateShaping.apply(to: &delta, round: round, residual: residual, rng: &secureRNG) {
        case .success(let outcome): shaped = outcome
        case .failure(let refusal):
            refuse(round, refusal.reason)
            return
        }
        let outcome = EdgeRound.Outcome(
            examples: data.train.count,
            preClipNorm: shaped.preClipNorm,
            clipped: shaped.clipped,
            evaluation: evaluation.flatMap { metrics in
                metrics.accuracy.map {
                    MetricsSummary(examples: metrics.count, loss: metrics.logLoss ?? 0, accuracy: $0)
                }
            }
        )
        if round.secureAggregation != nil, let secAgg {
            secAgg.start(
                open,
                assignment: assignment,
                deviceId: device.id,
                keys: links.keyPair(forDevice: index),
                delta: delta,
                loop: loop
            )
            return
        }
        let update = EdgeRound.update(round: round, assignment: assignment, workerId: device.id, outcome: outcome)
        logger.debug(
            "update ready",
            metadata: [
                "round.id": "\(round.roundId)", "update.norm": "\(shaped.preClipNorm)",
                "update.clipped": "\(shaped.clipped)",
            ]
        )
        let tensors = UpdateShaping.encode(delta, round: round, residual: &residual, rng: &secureRNG)
        try queue(update, tensors: tensors, to: assignment.endpoint, loop: loop)
    }

    /// A round that would not protect this device: nothing is sent, counted and logged.
    private func refuse(_ round: RoundOpen, _ why: String) {
        refusedRounds.increment()
        logger.warning("refusing the round", metadata: ["round.id": "\(round.roundId)", "reason": "\(why)"])
    }

    /// A statistics round: this device's feature moments (sums, never records) instead of a delta.
    private func sendStatistics(
        round: RoundOpen,
        assignment: ShardAssignment,
        spec: ModelSpec,
        loop: RoleLoop<Int>
    ) throws {
        let moments = FeatureMoments(records: records.train, relativeTo: spec.features.map(\.scaling))
        let update = Update(
            roundId: round.roundId,
            modelVersion: round.modelVersion,
            workerId: device.id,
            deviceClass: wireClass,
            shard: assignment.shard,
            weight: Double(records.train.count),
            norm: 0,
            clipped: false,
            metrics: nil
        )
        let tensors: [Tensor] = [
            .f32le(name: "sum", moments.sums.map(Float.init)),
            .f32le(name: "sumSquares", moments.sumSquares.map(Float.init)),
            .f32le(name: "count", moments.counts.map(Float.init)),
        ]
        try queue(update, tensors: tensors, to: assignment.endpoint, loop: loop)
    }

    private func queue(_ update: Update, tensors: [Tensor], to endpoint: String, loop: RoleLoop<Int>) throws {
        // The shard's key by the name of its slot: only the enrolled shard can answer there.
        let shardName = GlobalRound.aggregatorId(region: update.deviceClass, shard: update.shard)
        let frames = try messenger.codec.encode(
            update,
            sender: device.id,
            sentAtMillis: Clock.nowMillis(),
            tensors: tensors
        )
        pending = (frames, Clock.nowMillis() + config.sendDelayMillis, shardName, endpoint, update.roundId)
        sendIfDue(now: Clock.nowMillis(), loop: loop)
    }
}

extension DeviceClass {
    /// The wire name of the class: total, one case for one case (no fallback).
    var wireName: DeviceClassName {
        switch self {
        case .watch: .watch
        case .phone: .phone
        case .tablet: .tablet
        }
    }
}
