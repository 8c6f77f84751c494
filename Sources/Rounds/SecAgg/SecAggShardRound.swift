public import SecureAggregation
public import Wire

/// A message of the secure-aggregation stages, as the shard receives it from one device.
public enum SecAggShardEvent: Sendable, Hashable {
    case keysAdvertised(AdvertisedKeys)
    case sharesSent([EncryptedShare])
    case maskedInput(ModularVector)
    case unmasking(UnmaskResponse)
}

/// One shard's SecAgg+ round with stage deadlines: `SecAggServer` plus time and identity.
///
/// `SecAggServer` closes a stage when every expected device answered or when told the deadline
/// passed; this wrapper owns that deadline (each stage gets `stageTimeoutMillis` from the
/// moment it opens), so the shell only feeds messages and timer ticks, as for every other role.
/// Decisions use `identity.name`; a message whose header claim disagrees with what the
/// transport proved is refused before the protocol sees it. A `.fail` action means: count it,
/// log it, and retry the round with a fresh cohort (the masked sum is discarded, never released).
public struct SecAggShardRound: Sendable {
    public private(set) var server: SecAggServer
    public let stageTimeoutMillis: Int64
    /// When the current stage closes with whoever answered; nil once the round is over.
    public private(set) var stageDeadlineMillis: Int64?

    public init(server: SecAggServer, openedAtMillis: Int64, stageTimeoutMillis: Int64) {
        self.server = server
        self.stageTimeoutMillis = max(stageTimeoutMillis, 1)
        let (deadline, overflow) = openedAtMillis.addingReportingOverflow(self.stageTimeoutMillis)
        self.stageDeadlineMillis = overflow ? .max : deadline
    }

    public var stage: SecAggStage { server.stage }

    public mutating func received(
        _ event: SecAggShardEvent,
        from identity: PeerIdentity,
        now: Int64
    ) -> [SecAggServerAction] {
        guard identity.isConsistent else {
            return [.reject(.unauthorizedSender, sender: identity.claimed, detail: "claim differs from transport")]
        }
        let before = server.stage
        let actions: [SecAggServerAction]
        switch event {
        case .keysAdvertised(let keys): actions = server.keysAdvertised(keys, from: identity.name)
        case .sharesSent(let shares): actions = server.sharesSent(shares, from: identity.name)
        case .maskedInput(let vector): actions = server.maskedInputReceived(vector, from: identity.name)
        case .unmasking(let response): actions = server.unmaskingReceived(response, from: identity.name)
        }
        restartDeadlineIfStageChanged(from: before, now: now)
        return actions
    }

    /// A timer tick: closes the current stage once its deadline has passed.
    public mutating func timer(now: Int64) -> [SecAggServerAction] {
        guard let deadline = stageDeadlineMillis, now >= deadline else { return [] }
        let before = server.stage
        let actions = server.deadlinePassed()
        restartDeadlineIfStageChanged(from: before, now: now)
        return actions
    }

    private mutating func restartDeadlineIfStageChanged(from before: SecAggStage, now: Int64) {
        switch server.stage {
        case .completed, .failed: stageDeadlineMillis = nil
        case let current where current != before:
            let (deadline, overflow) = now.addingReportingOverflow(stageTimeoutMillis)
            stageDeadlineMillis = overflow ? .max : deadline
        default: break
        }
    }
}
