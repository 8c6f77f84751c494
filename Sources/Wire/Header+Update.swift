/// `update` (edge worker → its shard's PULL 7100): one worker's contribution to a round.
///
/// Tensors: `delta` (w_local − w_global, clipped) in a train round, or `sum` and `sumSquares`
/// (one element per feature) in a statistics round, where `weight` is the example count.
///
/// Under Poisson self-selection (`RoundOpen.selection == .poisson`) a member of the shard's
/// population that did not sample itself sends `declined: true` and no tensors, so the shard can
/// close as soon as everyone has answered without anyone outside the shard learning who trained.
public struct Update: MessageBody {
    public static let topic = Topic.update

    /// ≥ 1.
    public var roundId: Int
    /// The model version the worker trained from (≥ 0).
    public var modelVersion: Int
    /// The sending worker, which must be in the shard's cohort.
    public var workerId: String
    /// The class of the sending device, which picks its region.
    public var deviceClass: DeviceClassName
    /// The shard the worker was assigned to (≥ 0).
    public var shard: Int
    /// Examples used (≥ 0); under DP the aggregator weighs every client the same regardless.
    public var weight: Double
    /// ‖Δ‖₂ before clipping (≥ 0), for adaptive clipping and poisoning alarms.
    public var norm: Double
    /// Whether clipping changed the delta.
    public var clipped: Bool
    /// Evaluation of the received global model on the local hold-out (withheld under DP).
    public var metrics: MetricsSummary?
    /// True for "not sampled this round": no tensors, `weight` and `norm` 0. Omitted means false.
    public var declined: Bool?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        roundId: Int,
        modelVersion: Int,
        workerId: String,
        deviceClass: DeviceClassName,
        shard: Int,
        weight: Double,
        norm: Double,
        clipped: Bool,
        metrics: MetricsSummary? = nil,
        declined: Bool? = nil
    ) {
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.workerId = workerId
        self.deviceClass = deviceClass
        self.shard = shard
        self.weight = weight
        self.norm = norm
        self.clipped = clipped
        self.metrics = metrics
        self.declined = declined
    }

    /// A population member's answer that it did not sample itself into this round.
    public static func decline(roundId: Int, modelVersion: Int, workerId: String, deviceClass: DeviceClassName, shard: Int) -> Update {
        Update(
            roundId: roundId, modelVersion: modelVersion, workerId: workerId, deviceClass: deviceClass, shard: shard,
            weight: 0, norm: 0, clipped: false, metrics: nil, declined: true
        )
    }

    /// Whether this is a decline rather than a contribution.
    public var isDecline: Bool { declined ?? false }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("roundId", roundId, 1)
        try check.atLeast("modelVersion", modelVersion, 0)
        try check.id("workerId", workerId)
        try check.atLeast("shard", shard, 0)
        try check.nonNegative("weight", weight)
        try check.nonNegative("norm", norm)
        try metrics?.validate(check.nested("metrics"))
        if isDecline {
            try check.require(weight == 0 && norm == 0 && metrics == nil, "declined", "a decline carries no weight, norm or metrics")
        }
    }
}
