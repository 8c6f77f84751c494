public import Wire

/// What the global aggregator's state machine asks its shell to do.
public enum GlobalAction: Equatable, Sendable {
    /// Count and log a refused message (`fedpulse_rejected_total{role,reason}` + `reject.reason`).
    case reject(RejectReason, sender: String?, roundId: Int?, detail: String)
    /// Encode and PUSH the round's model candidate to the coordinator.
    case sendCandidate(ModelCandidate, tensors: [Tensor])
    /// Something worth a log line; changes nothing.
    case note(GlobalNote)
}

/// Log-worthy facts from the global aggregator's round, as data.
public enum GlobalNote: Equatable, Sendable {
    /// A round opened: partials from these shards are expected.
    case roundOpened(roundId: Int, shards: [String])
    /// A `round.open` could not be read (no weights, unreadable spec, unknown placement).
    case roundUnreadable(roundId: Int, detail: String)
    /// A shard's partial was combined.
    case partialAccepted(shard: String, roundId: Int, contributors: Int)
    /// A partial for a round not yet announced was kept until it opens.
    case partialBuffered(sender: String, roundId: Int, bufferedBytes: Int)
    /// The candidate of a round: who reported, who is missing, the noise added.
    case candidateReady(roundId: Int, contributors: Int, shardsMissing: [String], noiseStd: Double)
}
