public import Wire

/// What a regional shard's state machine asks its shell to do.
public enum ShardAction: Equatable, Sendable {
    /// Count and log a refused message (`fedpulse_rejected_total{role,reason}` + `reject.reason`).
    case reject(RejectReason, sender: String?, roundId: Int?, detail: String)
    /// Connect the upward PUSH to the global aggregator (leaving `replacing` first, if any).
    case connectUpward(endpoint: String, replacing: String?)
    /// Encode and PUSH the round's partial to the global aggregator.
    case sendPartial(Partial, tensors: [Tensor])
    /// Something worth a log line or a counter; changes nothing.
    case note(ShardNote)
}

/// Log-worthy facts from a shard's round, as data.
public enum ShardNote: Equatable, Sendable {
    /// This shard is named in a round: `members` updates (or declines) are expected.
    case roundOpened(roundId: Int, members: Int, selection: CohortSelection, underDP: Bool)
    /// A `round.open` naming this shard could not be read (no weights, unreadable spec, …).
    case roundUnreadable(roundId: Int, detail: String)
    /// An update was summed, or a decline recorded.
    case updateAccepted(workerId: String, roundId: Int, declined: Bool)
    /// An update for a round not yet announced was kept until it opens.
    case updateBuffered(sender: String, roundId: Int, bufferedBytes: Int)
}
