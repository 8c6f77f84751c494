import SecureAggregation
public import Wire

/// A shard-to-device message of the secure-aggregation stages, as the shell sends it.
public enum SecAggOutgoing: Sendable, Equatable {
    case neighbours(SecAggFramed<SecAggNeighbours>)
    case shares(SecAggFramed<SecAggShares>)
    case unmaskRequest(SecAggFramed<SecAggUnmaskRequest>)
}

/// What a shard's secure-aggregation round asks its shell to do.
public enum SecAggShardAction: Sendable, Equatable {
    /// Send to the device over the ROUTER connection that authenticated as it.
    case send(to: String, SecAggOutgoing)
    case reject(RejectReason, sender: String, roundId: Int?, detail: String)
    case connectUpward(endpoint: String, replacing: String?)
    /// The round's partial: the unmasked sum, or (after a failure) an empty one.
    case sendPartial(Partial, tensors: [Tensor])
    /// A stage (`SecAggStage` raw value) opened with `devices` expected to answer in it.
    case stageOpened(roundId: Int, stage: String, devices: Int)
    /// The round failed in `stage` (raw value): count it, log it; nothing of the sum is released.
    case failed(roundId: Int, stage: String, detail: String)
}

/// One regional shard's secure-aggregation rounds: the pure shell around `SecAggShardRound`
/// that speaks `round.open` and the `secagg.*` bodies instead of protocol values.
///
/// It replaces the plain `ShardRound` for a round whose `round.open` carries
/// `secureAggregation`: it accepts no `update`, only the stage messages of the assigned
/// members, and its partial is the unmasked integer sum dequantized (weight 1 per survivor,
/// the example weight inside the masked vector; under `skellam` decoded by `SkellamDecoder`, and
/// never of fewer than `minimumSurvivors`), with a `SecureAggregationRecord`. It never
/// holds one device's unmasked vector: what it keeps is `SecAggServer`'s running masked sum.
/// A failed round sends an empty partial (no contributors, a zero sum), so the global tier
/// closes the round without this shard's devices and the coordinator retries if too few remain.
public struct SecAggShardSession: Sendable {
    public let region: DeviceClassName
    public let shard: Int
    /// Keep every masked input the protocol sees (tests only: the privacy instrumentation).
    public var recordsObservations = false
    private(set) var current: OpenSecAggRound?
    private var upwardEndpoint: String?
    /// Keys that arrived before their round's `round.open` reached this shard (a device that
    /// trains fast can beat the shard's subscription): replayed when the round opens. Only
    /// keys, and at most ``earlyLimit`` of them, so a flood for a future round stays bounded.
    private var early: [(message: AnyMessage, identity: PeerIdentity, bytes: Int, roundId: Int)] = []
    public static let earlyLimit = 4_096
    /// Early keys one sender may hold (as many as rounds ``isEarly(_:)`` looks ahead).
    public static let earlyLimitPerSender = 16

    /// The secret the neighbour rings of this shard's rounds are keyed by
    /// (`NeighbourGraph.keyed`): drawn from the shard's CSPRNG on its first secure round and kept
    /// for the life of the process, so a cohort keeps its ring from round to round.
    private var ringSecret: [UInt8]?

    private mutating func ringKey(using generator: inout some RandomNumberGenerator) -> [UInt8] {
        if let ringSecret { return ringSecret }
        let drawn = (0..<4).flatMap { _ in withUnsafeBytes(of: generator.next().littleEndian) { Array($0) } }
        ringSecret = drawn
        return drawn
    }

    public init(region: DeviceClassName, shard: Int) {
        self.region = region
        self.shard = shard
    }

    /// Whether `id` is a member of the open secure round (the only devices the shell keeps a
    /// route to: an edge key may claim any `E/<suffix>`, so routes of strangers would grow).
    public func isMember(_ id: String) -> Bool {
        guard let current, !current.sent else { return false }
        return current.memberSet.contains(id)
    }

    /// Whether `message` is keys for a round this shard has not seen opened yet (it is kept),
    /// at most 16 rounds ahead of the last one (a key for round 2^62 would never be replayed).
    public func isEarly(_ message: AnyMessage) -> Bool {
        guard case .secAggKeys(let keys) = message else { return false }
        guard let current else { return true }
        return keys.body.roundId > current.roundId && keys.body.roundId - current.roundId <= 16
    }

    /// When the timer must fire next; nil when no stage is pending.
    public var nextDeadline: Int64? { current?.round?.stageDeadlineMillis }

    /// The round a `round.open` names, if it is secure-aggregated here; plain rounds are nil
    /// (the shell gives them to `ShardRound`).
    public static func isSecure(_ open: RoundOpen, region: DeviceClassName, shard: Int) -> Bool {
        open.secureAggregation != nil && open.shards.contains { $0.region == region && $0.shard == shard }
    }

    /// A `round.open` (or a re-publication) for a secure round naming this shard.
    public mutating func roundOpened(
        _ message: Message<RoundOpen>,
        now: Int64,
        using generator: inout some RandomNumberGenerator
    ) -> [SecAggShardAction] {
        let open = message.body
        guard let settings = open.secureAggregation,
            let assignment = open.shards.first(where: { $0.region == region && $0.shard == shard })
        else { return [] }
        if let current, current.roundId >= open.roundId { return [] }
        var actions: [SecAggShardAction] = []
        if upwardEndpoint != open.globalEndpoint {
            actions.append(.connectUpward(endpoint: open.globalEndpoint, replacing: upwardEndpoint))
            upwardEndpoint = open.globalEndpoint
        }
        let parameterCount = message.tensor(named: "weights")?.elementCount ?? 0
        let made = OpenSecAggRound.make(
            open: open,
            settings: settings,
            members: assignment.members,
            parameterCount: parameterCount,
            now: now,
            recordsObservations: recordsObservations,
            ringKey: ringKey(using: &generator)
        )
        switch made {
        case .success(let round):
            current = round
            actions.append(
                .stageOpened(
                    roundId: open.roundId,
                    stage: SecAggStage.advertiseKeys.rawValue,
                    devices: assignment.members.count
                )
            )
            let waiting = early.filter { $0.roundId == open.roundId }
            early.removeAll { $0.roundId <= open.roundId }
            for entry in waiting {
                actions += received(entry.message, from: entry.identity, byteCount: entry.bytes, now: now)
            }
        case .failure(let error):
            // Nothing can be summed: report the shard empty at once so the round is retried.
            var empty = OpenSecAggRound.empty(open: open, members: assignment.members, parameterCount: parameterCount)
            actions.append(
                .failed(roundId: open.roundId, stage: SecAggStage.advertiseKeys.rawValue, detail: error.detail)
            )
            actions.append(empty.emptyPartial(region: region, shard: shard))
            current = empty
        }
        return actions
    }

    /// A `secagg.*` message from a device on the shard's ROUTER.
    public mutating func received(
        _ message: AnyMessage,
        from identity: PeerIdentity,
        byteCount: Int,
        now: Int64
    ) -> [SecAggShardAction] {
        if isEarly(message), case .secAggKeys(let keys) = message {
            // One set of keys per sender and round, at most `earlyLimitPerSender` in all: only a
            // later round.open empties this, so one device's keys for a far round must not take
            // everyone's room.
            let round = keys.body.roundId
            var held = 0
            for entry in early where entry.identity.name == identity.name {
                if entry.roundId == round {
                    return [.reject(.duplicate, sender: identity.name, roundId: round, detail: "early keys")]
                }
                held += 1
            }
            guard early.count < Self.earlyLimit, held < Self.earlyLimitPerSender else {
                return [.reject(.bufferFull, sender: identity.name, roundId: keys.body.roundId, detail: "early keys")]
            }
            early.append((message, identity, byteCount, keys.body.roundId))
            return []
        }
        guard var round = current.take() else {
            return [.reject(.roundClosed, sender: identity.name, roundId: nil, detail: "no secure round is open")]
        }
        defer { current = round }
        return round.received(message, from: identity, byteCount: byteCount, now: now, region: region, shard: shard)
    }

    /// A timer tick: closes a stage whose deadline passed.
    public mutating func timerFired(now: Int64) -> [SecAggShardAction] {
        guard var round = current.take() else { return [] }
        defer { current = round }
        return round.timerFired(now: now, region: region, shard: shard)
    }
}
