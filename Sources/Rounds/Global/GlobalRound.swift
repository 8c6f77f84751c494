public import Federation
public import Wire

/// The global aggregator's rounds as a pure state machine: `round.open`, partials, malformed
/// messages and timer ticks come in; rejections, the model candidate and notes go out.
///
/// What it enforces (issue 8 §2, §4b): a partial is taken only from the shard's own aggregator
/// (`identity.name` must be `region-<class>-<shard>`, else `unauthorizedSender`), only for a
/// shard the assignment names, once; a partial that is refused for any reason does not mark its
/// shard as reported, so the honest one still gets in; `contributors` must equal `members.count`,
/// and `members` must be distinct members of that shard's assignment (so a partial can never
/// claim more contributors than the shard was given: `overflow`); every total is summed with
/// checked arithmetic and every running sum is checked to stay finite before it is added to.
///
/// It also owns the server optimizer's state across rounds. Randomness (central noise) comes in
/// as a generator, so tests are deterministic.
public struct GlobalRound {
    /// How long to wait past the deadline and how much to hold for rounds not yet announced.
    public struct Configuration: Sendable {
        /// How long after the shards' deadline partials may still arrive.
        public var graceMillis: Int64 = 1_000
        /// Bytes of partials for future rounds kept at most (64 MiB by default).
        public var earlyBufferBytes = 64 << 20
        /// Partials for future rounds kept at most.
        public var earlyBufferCount = 256
        /// Lowercase hex SHA-256 of a tensor frame: passed in so this module needs no crypto.
        public var digest: @Sendable ([UInt8]) -> String

        public init(digest: @escaping @Sendable ([UInt8]) -> String) {
            self.digest = digest
        }
    }

    public let configuration: Configuration
    var optimizer: any ServerOptimizer
    var current: OpenGlobalRound?
    private var early: EarlyBuffer<(message: Message<Partial>, identity: PeerIdentity, bytes: Int)>

    public init(configuration: Configuration, optimizer: any ServerOptimizer) {
        self.configuration = configuration
        self.optimizer = optimizer
        early = EarlyBuffer(byteLimit: configuration.earlyBufferBytes, countLimit: configuration.earlyBufferCount)
    }

    /// The aggregator id a shard's partial must come from; the same id `RegionalAggregatorRole` sends as.
    public static func aggregatorId(region: DeviceClassName, shard: Int) -> String {
        "region-\(region.rawValue)-\(shard)"
    }

    /// When the timer must fire next (the open round's deadline plus grace); nil when nothing is pending.
    public var nextDeadline: Int64? { current.flatMap { $0.sent ? nil : $0.deadline } }

    /// Bytes held for rounds not yet announced.
    public var earlyBufferedBytes: Int { early.bytes }

    // MARK: Events

    /// A `round.open` arrived (or was re-published): start the round once.
    public mutating func roundOpened(
        _ message: Message<RoundOpen>,
        now: Int64,
        using generator: inout some RandomNumberGenerator
    ) -> [GlobalAction] {
        let open = message.body
        if let current, current.roundId >= open.roundId { return [] }
        switch OpenGlobalRound.make(message, graceMillis: configuration.graceMillis) {
        case .failure(let error):
            return [.note(.roundUnreadable(roundId: open.roundId, detail: error.detail))]
        case .success(let round):
            current = round
        }
        var actions: [GlobalAction] = [
            .note(.roundOpened(roundId: open.roundId, shards: current?.assigned.keys.sorted() ?? []))
        ]
        let waiting = early.take(upTo: open.roundId)
        for stale in waiting.stale {
            actions.append(
                .reject(
                    .staleRound,
                    sender: stale.identity.name,
                    roundId: stale.message.body.roundId,
                    detail: "buffered partial for a round that was never announced here"
                )
            )
        }
        for partial in waiting.current {
            actions += admit(partial.message, from: partial.identity, using: &generator)
        }
        if current?.assigned.isEmpty == true { actions += closeIfDue(now: now, force: true, using: &generator) }
        return actions
    }

    /// A `partial` decoded from the global PULL socket.
    public mutating func partialReceived(
        _ message: Message<Partial>,
        from identity: PeerIdentity,
        byteCount: Int,
        now: Int64,
        using generator: inout some RandomNumberGenerator
    ) -> [GlobalAction] {
        let roundId = message.body.roundId
        if roundId > (current?.roundId ?? 0) {
            if let full = early.keep(
                (message, identity, byteCount),
                roundId: roundId,
                bytes: byteCount,
                sender: identity.name,
                owner: Self.aggregatorId(region: message.body.region, shard: message.body.shard),
                noun: "partial"
            ) {
                return [.reject(full.code, sender: identity.name, roundId: roundId, detail: full.detail)]
            }
            return [.note(.partialBuffered(sender: identity.name, roundId: roundId, bufferedBytes: early.bytes))]
        }
        return admit(message, from: identity, using: &generator)
    }

    /// A message on the partials socket failed to decode (already counted and logged by the loop);
    /// it counts in the round's rejections that the candidate reports.
    public mutating func malformedReceived(_ error: WireError) {
        guard var round = current.take() else { return }
        if !round.sent { round.totals.rejected[error.code.rawValue, default: 0] &+= 1 }
        current = round
    }

    /// A timer tick: sends the candidate once the deadline (plus grace) has passed.
    public mutating func timerFired(now: Int64, using generator: inout some RandomNumberGenerator) -> [GlobalAction] {
        closeIfDue(now: now, force: false, using: &generator)
    }

    mutating func closeIfDue(
        now: Int64,
        force: Bool,
        using generator: inout some RandomNumberGenerator
    ) -> [GlobalAction] {
        guard var round = current.take() else { return [] }
        defer { current = round }
        guard !round.sent, force || now >= round.deadline || round.everyoneReported else { return [] }
        return candidate(&round, using: &generator)
    }

    /// Debug builds only: the open round's and the buffer's invariants.
    func _checkInvariants() {
        current?._checkInvariants()
        early._checkInvariants()
    }
}
