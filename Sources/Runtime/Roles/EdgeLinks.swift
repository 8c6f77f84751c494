import Foundation
import Logging
import Wire
import ZeroMQ

/// A socket that can sit in an array or a dictionary (sockets are non-copyable).
final class OwnedSocket {
    let socket: Socket
    /// The endpoint it is connected to, for a socket that follows a device's shard.
    var endpoint: String?
    /// The round it last carried an update for, so the oldest idle link is the one closed.
    var lastUsed = 0

    init(_ socket: consuming Socket) {
        self.socket = socket
    }
}

/// How an edge process's devices reach the coordinator and the shards.
///
/// `shared` (an edge key, or no CURVE at all): ONE control PUSH and ONE PUSH per shard endpoint
/// for every hosted device, keyed by the edge's key `E`; each device still sends its own
/// messages under its own id `E/<suffix>`, which the receivers accept because `E` is enrolled as
/// `edge:<class>` (``SenderBinding``). 10,000 devices over 20 processes then cost the coordinator
/// 40 connections instead of 20,000 (the machine's fd limit). `perDevice` (one `device:<class>`
/// key per device, `--curve-key-dir`): every device has its own sockets under its own key, as
/// before edge keys existed.
final class EdgeLinks {
    enum Mode: Equatable {
        case shared
        case perDevice
    }

    let mode: Mode
    private let context: Context
    private let config: EdgeConfig
    /// Per device in `perDevice` mode, one entry in `shared` mode; nil entries when insecure.
    private let keys: [CurveKeyPair?]
    private var controls: [OwnedSocket] = []
    /// `shared`: one per (shard name, endpoint). `perDevice`: one per device index.
    private var shards: [String: OwnedSocket] = [:]
    /// Shared links to shards that left the topology are closed beyond this many.
    private let shardLinkLimit = 32

    init(config: EdgeConfig, context: Context) throws {
        self.config = config
        self.context = context
        if config.edgeName != nil, case .curve(let keys, _) = config.security.mode {
            mode = .shared
            self.keys = [keys]
        } else if config.security.isSecure {
            mode = .perDevice
            guard let directory = config.deviceKeys else {
                throw RoleError("CURVE is on but neither an edge key nor a --curve-key-dir holds the devices' keys")
            }
            self.keys = try config.devices.map { try directory.keyPair(of: $0.id) }
        } else {
            mode = .shared
            self.keys = [nil]
        }
        for index in 0..<(mode == .shared ? 1 : config.devices.count) {
            let control = try Socket(context, type: .push)
            try control.setLinger(0)
            try control.setSendHighWaterMark(highWaterMark)
            try secure(control, of: "coordinator", keys: self.keys[index])
            try control.connect(config.coordinatorControl)
            controls.append(OwnedSocket(control))
        }
    }

    /// How many SUB sockets the edge needs: one per device, or one for all.
    var broadcastCount: Int { mode == .shared ? 1 : config.devices.count }

    /// The SUB socket `index` (of ``broadcastCount``) on the coordinator's broadcast.
    func broadcastSocket(_ index: Int) throws -> Socket {
        let broadcast = try Socket(context, type: .sub)
        try broadcast.setLinger(0)
        try broadcast.subscribe(Topic.roundOpen.rawValue)
        try broadcast.subscribe(Topic.runEnd.rawValue)
        try secure(broadcast, of: "coordinator", keys: keys[index])
        try broadcast.connect(config.coordinatorBroadcast)
        return broadcast
    }

    /// The CURVE key pair device `index` speaks with (its own, or the edge's); nil when insecure.
    func keyPair(forDevice index: Int) -> CurveKeyPair? {
        keys[mode == .shared ? 0 : index]
    }

    /// Sends a check-in (or any control message) of device `index`; `false` when the queue is full.
    func sendControl(_ frames: [[UInt8]], device index: Int, messenger: Messenger) throws -> Bool {
        try messenger.send(frames: frames, on: controls[mode == .shared ? 0 : index].socket, dontWait: true) > 0
    }

    /// Sends device `index`'s update to the shard enrolled as `shardName` at `endpoint`,
    /// connecting (lazily, once per endpoint when shared) first.
    func sendUpdate(
        _ frames: [[UInt8]],
        device index: Int,
        shardName: String,
        endpoint: String,
        roundId: Int,
        messenger: Messenger,
        dontWait: Bool
    ) throws -> Bool {
        let link = try shardLink(device: index, shardName: shardName, endpoint: endpoint)
        link.lastUsed = max(link.lastUsed, roundId)
        return try messenger.send(frames: frames, on: link.socket, dontWait: dontWait) > 0
    }

    /// Open shard links (sockets), for tests and the bench's fd accounting.
    var shardLinkCount: Int { shards.count }

    private func shardLink(device index: Int, shardName: String, endpoint: String) throws -> OwnedSocket {
        switch mode {
        case .shared:
            let key = shardName + " " + endpoint
            if let link = shards[key] { return link }
            if shards.count >= shardLinkLimit, let oldest = shards.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                shards[oldest.key] = nil
            }
            let link = OwnedSocket(try makeShardSocket())
            // The shard's key by the name of its slot: only the enrolled shard can answer here.
            try secure(link.socket, of: shardName, keys: keys[0])
            try link.socket.connect(endpoint)
            link.endpoint = endpoint
            shards[key] = link
            return link
        case .perDevice:
            let key = "\(index)"
            let link: OwnedSocket
            if let existing = shards[key] {
                link = existing
            } else {
                link = OwnedSocket(try makeShardSocket())
                shards[key] = link
            }
            if link.endpoint != endpoint {
                if let old = link.endpoint { try? link.socket.disconnect(old) }
                try secure(link.socket, of: shardName, keys: keys[index])
                try link.socket.connect(endpoint)
                link.endpoint = endpoint
            }
            return link
        }
    }

    private func makeShardSocket() throws -> Socket {
        let socket = try Socket(context, type: .push)
        try socket.setLinger(5_000)
        try socket.setSendHighWaterMark(highWaterMark)
        return socket
    }

    /// A shared link queues for every hosted device (a round's updates, a second's check-ins),
    /// so its queue grows with the devices it serves; the devices are local, so this is bounded.
    private var highWaterMark: Int32 {
        mode == .shared ? Int32(clamping: max(1_000, config.devices.count * 4)) : 1_000
    }

    private func secure(_ socket: borrowing Socket, of server: String, keys: CurveKeyPair?) throws {
        guard let keys else { return }
        try config.security.secureClient(socket, of: server, as: keys)
    }
}
