/// `update` (edge worker → its shard's PULL 7100): one worker's contribution to a round.
///
/// Tensors: `delta` (w_local − w_global, clipped) in a train round, or `sum` and `sumSquares`
/// (one element per feature) in a statistics round, where `weight` is the example count.
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
    /// Evaluation of the received global model on the local hold-out.
    public var metrics: MetricsSummary?

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
        metrics: MetricsSummary? = nil
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
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("roundId", roundId, 1)
        try check.atLeast("modelVersion", modelVersion, 0)
        try check.id("workerId", workerId)
        try check.atLeast("shard", shard, 0)
        try check.nonNegative("weight", weight)
        try check.nonNegative("norm", norm)
        try metrics?.validate(check.nested("metrics"))
    }
}
