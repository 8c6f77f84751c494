import Foundation
import Learning
public import Logging
import Metrics
import Wire
import ZeroMQ

/// An edge process: hosts N virtual devices, each with its own identity, data and round memory.
///
/// A selected device evaluates the broadcast model on its local hold-out, trains from it,
/// sends Δ = w_local − w_global (clipped and noised as the round's privacy settings say) to its
/// shard, and nothing else: no raw record ever leaves this process. With an edge key (or no
/// CURVE) the devices share one SUB, one control PUSH and one PUSH per shard; with per-device
/// keys each device has its own (``EdgeLinks``).
public final class EdgeRole: Sendable {
    let config: EdgeConfig
    let logger: Logger

    public init(config: EdgeConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run(_ control: LoopControl) throws {
        let perDeviceSockets = config.edgeName == nil && config.security.isSecure
        let sockets = perDeviceSockets ? config.devices.count * 4 + 64 : 256
        let context = try Context(maxSockets: Int32(clamping: max(1_024, sockets)))
        let messenger = Messenger(role: "edge", sender: config.edgeName ?? "edge", logger: logger)
        let loop = RoleLoop<Int>(control: control, messenger: messenger)
        let links = try EdgeLinks(config: config, context: context)
        var devices: [DeviceRuntime] = []
        let secAgg = SecAggEdge(
            context: context,
            security: config.security,
            logger: logger,
            sendDelayMillis: config.sendDelayMillis
        )
        for (index, device) in config.devices.enumerated() {
            let runtime = try DeviceRuntime(device: device, index: index, config: config, links: links, logger: logger)
            runtime.secAgg = secAgg
            devices.append(runtime)
        }
        for index in 0..<links.broadcastCount {
            loop.add(index, try links.broadcastSocket(index), decodes: false)
        }
        logger.info(
            "edge ready",
            metadata: [
                "devices": "\(devices.count)", "edge.sockets": "\(links.mode == .shared ? "shared" : "per-device")",
                "edge.name": "\(config.edgeName ?? "-")",
            ]
        )
        let cache = BroadcastCache()
        var running = true
        // Check in at once, before the first poll.
        for device in devices { device.checkInIfDue(now: Clock.nowMillis(), loop: loop) }
        try loop.run(
            nextTimer: {
                min(devices.map(\.nextDue).min() ?? Clock.nowMillis() + 1_000, secAgg.nextDue(now: Clock.nowMillis()))
            },
            received: { index, incoming in
                guard devices.indices.contains(index) else { return }
                let decoded = cache.decode(incoming.frames, messenger: messenger)
                // One shared SUB feeds every device; a device's own SUB feeds that device.
                let receivers = links.mode == .shared ? devices[...] : devices[index...index]
                for device in receivers
                where try device.broadcastReceived(decoded, cache: cache, loop: loop) == .runEnded {
                    running = false
                }
            },
            timer: { now in
                secAgg.pump(loop: loop, now: now)
                for device in devices {
                    device.checkInIfDue(now: now, loop: loop)
                    device.sendIfDue(now: now, loop: loop)
                }
            },
            isFinished: { !running },
            roleSockets: { secAgg.pollItems() },
            roleSocketsReady: { secAgg.ready($0, loop: loop) }
        )
        for device in devices { device.flushBeforeExit(loop: loop) }
        logger.info("edge stopping")
    }
}

/// Decodes each broadcast once per process, however many virtual devices receive it.
///
/// With per-device keys every device has its own SUB socket and so its own copy of each
/// (re-published) `round.open`; validating the same header hundreds of times a second would make
/// a busy edge CPU-bound.
/// The cache compares the frames byte for byte, so a changed message is always decoded afresh.
final class BroadcastCache {
    private var lastFrames: [[UInt8]] = []
    private var lastResult: Result<AnyMessage, WireError>?
    private var prepared: (roundId: Int, digest: String, result: Result<PreparedModel, WireError>)?

    /// A round's model as every selected device needs it: digest checked, spec and weights decoded.
    struct PreparedModel {
        var spec: ModelSpec
        var weights: [Float]
    }

    /// Checks and decodes a round's model once per process (SHA-256 and JSON are the edge's
    /// main costs besides training), however many hosted devices were selected.
    func prepare(_ open: Message<RoundOpen>) throws -> Result<PreparedModel, WireError> {
        let round = open.body
        if let prepared, prepared.roundId == round.roundId, prepared.digest == round.modelDigest {
            return prepared.result
        }
        let result: Result<PreparedModel, WireError>
        if let weights = open.tensor(named: "weights") {
            if Digest.sha256Hex(weights.bytes) == round.modelDigest {
                result = .success(
                    PreparedModel(spec: try round.modelSpec.decoded(as: ModelSpec.self), weights: weights.floats())
                )
            } else {
                result = .failure(WireError(code: .digestMismatch, detail: "broadcast model does not match its digest"))
            }
        } else {
            result = .failure(WireError(code: .frameCountMismatch, detail: "round.open without weights"))
        }
        prepared = (round.roundId, round.modelDigest, result)
        return result
    }

    func decode(_ frames: [[UInt8]], messenger: Messenger) -> Result<AnyMessage, WireError> {
        if let lastResult, frames == lastFrames { return lastResult }
        let result = messenger.codec.decode(frames)
        if case .failure(let error) = result {
            messenger.reject(error.code, detail: error.detail, sender: nil)
        }
        lastFrames = frames
        lastResult = result
        return result
    }
}
