public import Wire

/// A regional shard's rounds as a pure state machine: `round.open`, updates, malformed messages
/// and timer ticks come in; rejections, the upward connection, the partial and notes go out.
///
/// What it enforces, because privacy and liveness depend on it (issue 8 §2, §4): every update's
/// L2 norm is recomputed here (a self-reported `norm` or `clipped` is never read); under DP an
/// update above the clip bound is refused `normTooLarge`, every client weighs 1 and per-device
/// metrics are dropped; digests, shard, device class, round and model version are checked; a
/// refused update never marks its worker as answered, so a forgery cannot take a device's slot;
/// every sum on wire values is checked before it is taken (`overflow`); and updates for a round
/// not yet announced wait in a buffer bounded in bytes and count (`bufferFull`).
///
/// Memory is O(model): each accepted update is folded into the running sum at once.
public struct ShardRound {
    /// Who this shard is and how much it may hold for rounds not yet announced.
    public struct Configuration: Sendable {
        /// The device class this shard serves.
        public var region: DeviceClassName
        /// The shard index within the class.
        public var shard: Int
        /// Bytes of updates for future rounds kept at most (64 MiB by default).
        public var earlyBufferBytes = 64 << 20
        /// Updates for future rounds kept at most.
        public var earlyBufferCount = 4_096
        /// Lowercase hex SHA-256 of a tensor frame: passed in so this module needs no crypto.
        public var digest: @Sendable ([UInt8]) -> String

        public init(region: DeviceClassName, shard: Int, digest: @escaping @Sendable ([UInt8]) -> String) {
            self.region = region
            self.shard = shard
            self.digest = digest
        }

        /// `<class>/<shard>`, as assignments and reports name shards.
        public var name: String { "\(region.rawValue)/\(shard)" }
    }

    public let configuration: Configuration
    var current: OpenShardRound?
    private var early: EarlyBuffer<(message: Message<Update>, identity: PeerIdentity, bytes: Int)>
    private var upwardEndpoint: String?

    public init(configuration: Configuration) {
        self.configuration = configuration
        early = EarlyBuffer(byteLimit: configuration.earlyBufferBytes, countLimit: configuration.earlyBufferCount)
    }

    /// The round being summed, while it is open.
    public var openRoundId: Int? { current.flatMap { $0.sent ? nil : $0.roundId } }

    /// When the timer must fire next (the open round's deadline); nil when nothing is pending.
    public var nextDeadline: Int64? { current.flatMap { $0.sent ? nil : $0.deadline } }

    /// Bytes held for rounds not yet announced.
    public var earlyBufferedBytes: Int { early.bytes }

    // MARK: Events

    /// A `round.open` arrived (or was re-published): start the round if it names this shard.
    public mutating func roundOpened(_ message: Message<RoundOpen>, now: Int64) -> [ShardAction] {
        let open = message.body
        if let current, current.roundId >= open.roundId { return [] }
        guard
            let assignment = open.shards.first(where: {
                $0.region == configuration.region && $0.shard == configuration.shard
            })
        else { return [] }
        var actions: [ShardAction] = []
        if upwardEndpoint != open.globalEndpoint {
            actions.append(.connectUpward(endpoint: open.globalEndpoint, replacing: upwardEndpoint))
            upwardEndpoint = open.globalEndpoint
        }
        switch OpenShardRound.make(message, members: assignment.members) {
        case .failure(let error):
            actions.append(.note(.roundUnreadable(roundId: open.roundId, detail: error.detail)))
            return actions
        case .success(let round):
            current = round
        }
        actions.append(
            .note(
                .roundOpened(
                    roundId: open.roundId,
                    members: assignment.members.count,
                    selection: open.selection,
                    underDP: current?.underDP ?? false
                )
            )
        )
        let waiting = early.take(upTo: open.roundId)
        for stale in waiting.stale {
            actions.append(
                .reject(
                    .staleRound,
                    sender: stale.identity.name,
                    roundId: stale.message.body.roundId,
                    detail: "buffered update for a round that was never announced here"
                )
            )
        }
        for update in waiting.current {
            actions += admit(update.message, from: update.identity, byteCount: update.bytes, now: now)
        }
        if current?.members.isEmpty == true { actions += closeIfDue(now: now, force: true) }
        return actions
    }

    /// An `update` decoded from the shard's PULL socket.
    public mutating func updateReceived(
        _ message: Message<Update>,
        from identity: PeerIdentity,
        byteCount: Int,
        now: Int64
    ) -> [ShardAction] {
        let roundId = message.body.roundId
        if roundId > (current?.roundId ?? 0) {
            if let full = early.keep(
                (message, identity, byteCount),
                roundId: roundId,
                bytes: byteCount,
                sender: identity.name,
                owner: message.body.workerId,
                noun: "update"
            ) {
                return [.reject(full.code, sender: identity.name, roundId: roundId, detail: full.detail)]
            }
            return [.note(.updateBuffered(sender: identity.name, roundId: roundId, bufferedBytes: early.bytes))]
        }
        return admit(message, from: identity, byteCount: byteCount, now: now)
    }

    /// A message on the updates socket failed to decode (the loop already counted and logged
    /// it); it still counts in the open round's rejections that the partial reports.
    public mutating func malformedReceived(_ error: WireError) {
        guard var round = current.take() else { return }
        if !round.sent { round.count(error.code) }
        current = round
    }

    /// A timer tick: sends the partial once the deadline has passed.
    public mutating func timerFired(now: Int64) -> [ShardAction] {
        closeIfDue(now: now, force: false)
    }

    // MARK: Closing

    private mutating func closeIfDue(now: Int64, force: Bool) -> [ShardAction] {
        // Taken out while it changes: a copy left in `current` would make the partial's first
        // write copy the O(model) sums.
        guard var round = current.take() else { return [] }
        defer { current = round }
        guard !round.sent, force || now >= round.deadline || round.everyoneAnswered else { return [] }
        return [round.partial(region: configuration.region, shard: configuration.shard)]
    }

    /// Debug builds only: the open round's and the buffer's invariants.
    func _checkInvariants() {
        current?._checkInvariants()
        early._checkInvariants()
    }
}
