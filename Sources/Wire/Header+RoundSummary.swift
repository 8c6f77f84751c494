/// `round.summary` (coordinator PUB 7001): one completed round, for progress lines and dashboards.
///
/// Published after the checkpoint, so an observer (the demo, `fedpulse` tooling) can follow a
/// run without the coordinator's files. Not part of the privacy record; that is `round.completed`.
public struct RoundSummary: MessageBody {
    public static let topic = Topic.roundSummary
    public static let carriesTensors = false

    /// Completed rounds so far, counting this one (≥ 1).
    public var round: Int
    /// ≥ 1.
    public var roundId: Int
    /// The version the round produced (≥ 0).
    public var modelVersion: Int
    /// Contributors by device class.
    public var participants: ParticipantCounts
    /// ≥ 0.
    public var contributors: Int
    /// Central evaluation on a hold-out set, when the coordinator has one (0…1).
    public var accuracy: Double?
    /// Central hold-out loss (≥ 0).
    public var loss: Double?
    /// Federated evaluation of the previous model on the workers' hold-outs (0…1).
    public var federatedAccuracy: Double?
    /// Wall time from `round.open` to the checkpoint (≥ 0).
    public var seconds: Double
    /// Bytes of updates received by the shards (≥ 0).
    public var bytesUp: Int
    /// Bytes of `round.open` sent to the cohort (≥ 0).
    public var bytesDown: Int
    /// Cumulative ε after this round, when DP is on (≥ 0).
    public var epsilon: Double?
    /// Messages refused during the round (shards, global tier and coordinator), keyed by
    /// `RejectReason` raw value, so a client can learn why updates did not count.
    public var rejected: [String: Int]?
    /// The shards that secure-aggregated this round and with what parameters (from
    /// `round.completed`): per-shard counts, nothing about any one device.
    public var secureAggregation: [SecureAggregationRecord]?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        round: Int,
        roundId: Int,
        modelVersion: Int,
        participants: ParticipantCounts,
        contributors: Int,
        accuracy: Double? = nil,
        loss: Double? = nil,
        federatedAccuracy: Double? = nil,
        seconds: Double,
        bytesUp: Int,
        bytesDown: Int,
        epsilon: Double? = nil,
        rejected: [String: Int]? = nil,
        secureAggregation: [SecureAggregationRecord]? = nil
    ) {
        self.round = round
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.participants = participants
        self.contributors = contributors
        self.accuracy = accuracy
        self.loss = loss
        self.federatedAccuracy = federatedAccuracy
        self.seconds = seconds
        self.bytesUp = bytesUp
        self.bytesDown = bytesDown
        self.epsilon = epsilon
        self.rejected = rejected
        self.secureAggregation = secureAggregation
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("round", round, 1)
        try check.atLeast("roundId", roundId, 1)
        try check.atLeast("modelVersion", modelVersion, 0)
        try participants.validate(check.nested("participants"))
        try check.atLeast("contributors", contributors, 0)
        if let accuracy {
            try check.require(accuracy >= 0 && accuracy <= 1, "accuracy", "\(accuracy) is outside 0...1")
        }
        if let loss { try check.nonNegative("loss", loss) }
        if let federatedAccuracy {
            try check.require(
                federatedAccuracy >= 0 && federatedAccuracy <= 1,
                "federatedAccuracy",
                "\(federatedAccuracy) is outside 0...1"
            )
        }
        try check.nonNegative("seconds", seconds)
        try check.atLeast("bytesUp", bytesUp, 0)
        try check.atLeast("bytesDown", bytesDown, 0)
        if let epsilon { try check.nonNegative("epsilon", epsilon) }
        if let rejected { try check.rejectCounts("rejected", rejected) }
        if let secureAggregation { try check.secureAggregation("secureAggregation", secureAggregation) }
    }
}
