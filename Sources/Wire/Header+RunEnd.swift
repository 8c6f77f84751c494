/// `run.end` (coordinator PUB 7001): training is over; workers and aggregators may exit.
public struct RunEnd: MessageBody {
    public static let topic = Topic.runEnd
    public static let carriesTensors = false

    /// Why: `roundLimit`, `budgetExhausted`, `targetReached`, `stopped`, … (1…128 characters).
    public var reason: String
    /// The last round that completed (≥ 0; 0 when none did).
    public var finalRound: Int
    /// The final model version (≥ 0).
    public var modelVersion: Int

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(reason: String, finalRound: Int, modelVersion: Int) {
        self.reason = reason
        self.finalRound = finalRound
        self.modelVersion = modelVersion
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.id("reason", reason)
        try check.atLeast("finalRound", finalRound, 0)
        try check.atLeast("modelVersion", modelVersion, 0)
    }
}
