import Foundation
import Logging
import Metrics
import Rounds
import Wire
import ZeroMQ

/// A regional shard's end of secure aggregation: a ROUTER (CURVE server under the same ZAP
/// allowlist as every other socket) that each participating device reaches with its own
/// DEALER, and the shell around `Rounds.SecAggShardSession`.
///
/// Why a ROUTER and not the coordinator's PUB: neighbour lists, forwarded shares and unmask
/// requests are per device, must not be lost to a slow joiner, and must reach the connection
/// that proved it is that device. The routing id of a device is learnt only from a message
/// whose claimed sender the transport proved (`PeerIdentity.isAuthenticated`), so one device
/// cannot redirect another's shares to itself.
final class SecAggShardChannel {
    typealias Loop = RoleLoop<RegionalAggregatorRole.SocketName>

    let loop: Loop
    let logger: Logger
    let name: String
    let security: TransportSecurity
    private var isSecure: Bool { security.isSecure }
    private var session: SecAggShardSession
    private var routes: [String: [UInt8]] = [:]
    /// The shard's ring order is drawn from a CSPRNG: a predictable ring would let corrupt
    /// devices place themselves around a victim.
    private var generator = SystemRandomNumberGenerator()

    init(loop: Loop, logger: Logger, region: DeviceClassName, shard: Int, name: String, security: TransportSecurity) {
        self.loop = loop
        self.logger = logger
        self.name = name
        self.security = security
        session = SecAggShardSession(region: region, shard: shard)
    }

    /// The ROUTER, bound and secured; returns its resolved endpoint (announced in the hello).
    static func bind(
        _ socket: borrowing Socket,
        endpoint: String,
        security: TransportSecurity,
        maxMessageBytes: Int
    ) throws -> String {
        try socket.setLinger(0)
        try socket.setMaxMessageSize(Int64(maxMessageBytes))
        try socket.setBacklog(4_096)
        try security.secureServer(socket)
        return try socket.bindResolved(endpoint)
    }

    var nextDeadline: Int64? { session.nextDeadline }

    /// The ROUTER's address for devices: the bound one, or (when the shard announces another
    /// address for its PULL, e.g. `tcp://region-phone-0:7100` in a container) that host with
    /// the ROUTER's bound port.
    static func advertised(bound: String, like updates: String?) -> String {
        guard let updates, updates.hasPrefix("tcp://"), bound.hasPrefix("tcp://"),
            let hostEnd = updates.lastIndex(of: ":"), let portStart = bound.lastIndex(of: ":")
        else { return bound }
        return String(updates[..<hostEnd]) + String(bound[portStart...])
    }

    /// `tcp://host:*` for a resolved `tcp://host:port` (the updates socket's), so the ROUTER
    /// listens where the shard already does; other transports get a sibling name.
    static func anyPort(like endpoint: String) -> String {
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return endpoint + "-secagg" }
        return String(endpoint[..<colon]) + ":*"
    }

    /// Whether `open` is a secure round of this shard; if so the channel runs it (the plain
    /// `ShardRound` must not see it, or it would send a second, empty partial).
    func roundOpened(_ open: Message<RoundOpen>, now: Int64) -> Bool {
        guard SecAggShardSession.isSecure(open.body, region: session.region, shard: session.shard) else { return false }
        let actions = session.roundOpened(open, now: now, using: &generator)
        // A new round (a re-publication changes nothing): only its members' routes are kept
        // (those that sent keys early are among them).
        if !actions.isEmpty { routes = routes.filter { session.isMember($0.key) } }
        perform(actions)
        return true
    }

    /// One ROUTER message: `[routing id, topic, header, tensors…]`.
    func received(_ incoming: Incoming, now: Int64) {
        guard let routingId = incoming.frames.first, incoming.frames.count >= 2 else { return }
        let frames = Array(incoming.frames.dropFirst())
        guard case .success(let message) = loop.messenger.decode(frames, byteCount: incoming.byteCount) else { return }
        let proven = incoming.identity?.authenticated
        // Under CURVE every connection has a proven name; a message without one is not trusted.
        guard !isSecure || proven != nil else {
            loop.messenger.reject(.unauthorizedSender, detail: "no proven identity", sender: message.sender)
            return
        }
        // The loop's one rule (a key speaks for itself, an edge key for the devices it hosts),
        // with the role the enrolment gives the proven name: the ROUTER's frames are not decoded
        // by the loop, so it cannot apply the rule itself.
        let identity: PeerIdentity
        switch SenderBinding.identity(
            claimed: message.sender,
            userId: proven,
            peerRole: proven.flatMap { security.current.role(of: $0) },
            deviceClass: nil
        ) {
        case .success(let bound): identity = bound
        case .failure(let error):
            loop.messenger.reject(error.code, detail: error.detail, sender: message.sender)
            return
        }
        if identity.isAuthenticated || !isSecure, session.isMember(identity.name) || session.isEarly(message) {
            routes[identity.name] = routingId
        }
        perform(session.received(message, from: identity, byteCount: incoming.byteCount, now: now))
    }

    func timer(now: Int64) {
        perform(session.timerFired(now: now))
    }

    private func perform(_ actions: [SecAggShardAction]) {
        for action in actions {
            switch action {
            case .send(let to, let outgoing):
                send(outgoing, to: to)
            case .reject(let reason, let sender, let roundId, let detail):
                loop.messenger.reject(reason, detail: detail, sender: sender, roundId: roundId)
            case .connectUpward(let endpoint, let old):
                if let old { loop.disconnect(.upward, from: old) }
                loop.connect(.upward, to: endpoint)
            case .sendPartial(let partial, let tensors):
                logger.info(
                    "partial sent",
                    metadata: [
                        "round.id": "\(partial.roundId)", "shard": "\(name)",
                        "round.contributors": "\(partial.contributors)", "partial.clipped": "0",
                        "secagg.survivors": "\(partial.secureAggregation?.survivors ?? 0)",
                        "secagg.advertised": "\(partial.secureAggregation?.advertised ?? 0)",
                        "process.cpu_ms": "\(ProcessCPU.milliseconds)",
                    ]
                )
                loop.send(partial, tensors: tensors, on: .upward)
            case .stageOpened(let roundId, let stage, let devices):
                Counter(label: "fedpulse_secagg_stages_opened_total", dimensions: [("stage", stage)]).increment()
                logger.info(
                    "secagg stage opened",
                    metadata: [
                        "round.id": "\(roundId)", "shard": "\(name)", "secagg.stage": "\(stage)",
                        "secagg.devices": "\(devices)",
                    ]
                )
            case .failed(let roundId, let stage, let detail):
                Counter(label: "fedpulse_secagg_failures_total", dimensions: [("stage", stage)]).increment()
                logger.warning(
                    "secagg round failed",
                    metadata: [
                        "round.id": "\(roundId)", "shard": "\(name)", "secagg.stage": "\(stage)",
                        "secagg.detail": "\(detail)",
                    ]
                )
            }
        }
    }

    private func send(_ outgoing: SecAggOutgoing, to device: String) {
        guard let routingId = routes[device] else {
            loop.failed("send", "no secure-aggregation connection of \(device)", level: .notice)
            return
        }
        let codec = loop.messenger.codec
        let sender = loop.messenger.sender
        let now = Clock.nowMillis()
        do {
            let frames: [[UInt8]]
            switch outgoing {
            // `encodeSecAgg`: the same bytes as `encode`, without `JSONEncoder` (its doc says why).
            case .neighbours(let framed):
                frames = try codec.encodeSecAgg(framed.body, sender: sender, sentAtMillis: now, tensors: framed.tensors)
            case .shares(let framed):
                frames = try codec.encodeSecAgg(framed.body, sender: sender, sentAtMillis: now, tensors: framed.tensors)
            case .unmaskRequest(let framed):
                frames = try codec.encodeSecAgg(framed.body, sender: sender, sentAtMillis: now, tensors: framed.tensors)
            }
            loop.send(frames: [routingId] + frames, on: .secagg)
        } catch {
            loop.failed("send", "secagg to \(device): \(error)")
        }
    }
}

/// The CPU time this process has used so far (user + system, all threads), for the shard's
/// "partial sent" lines: the bench takes differences between rounds to tell what the server
/// pays per round from what the simulated devices on the same machine pay.
enum ProcessCPU {
    static var milliseconds: Int {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        let user = Int(usage.ru_utime.tv_sec) * 1_000 + Int(usage.ru_utime.tv_usec) / 1_000
        let system = Int(usage.ru_stime.tv_sec) * 1_000 + Int(usage.ru_stime.tv_usec) / 1_000
        return user + system
    }
}
