/// `checkin` (edge worker → coordinator PULL 7002): a worker offers itself for sampling.
///
/// Eligibility travels as facts, not a verdict, so the coordinator applies one policy to all
/// workers and can log why a worker was left out.
public struct Checkin: MessageBody {
    public static let topic = Topic.checkin
    public static let carriesTensors = false

    /// The worker's id, stable across restarts.
    public var workerId: String
    /// The class of the sending device, which picks its region.
    public var deviceClass: DeviceClassName
    /// The device state at check-in.
    public var eligibility: Eligibility
    /// Local training examples (≥ 0); FedPulse edges send 1 or 0 (has data or not), since the
    /// exact count is data about the user, and the coordinator only checks that it is positive.
    public var trainExamples: Int
    /// Local hold-out examples (≥ 0) for federated evaluation; 1 or 0 from FedPulse edges.
    public var holdoutExamples: Int

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        workerId: String,
        deviceClass: DeviceClassName,
        eligibility: Eligibility,
        trainExamples: Int,
        holdoutExamples: Int
    ) {
        self.workerId = workerId
        self.deviceClass = deviceClass
        self.eligibility = eligibility
        self.trainExamples = trainExamples
        self.holdoutExamples = holdoutExamples
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.id("workerId", workerId)
        try check.nested("eligibility").range("batteryPercent", eligibility.batteryPercent, 0...100)
        try check.atLeast("trainExamples", trainExamples, 0)
        try check.atLeast("holdoutExamples", holdoutExamples, 0)
    }
}

/// The device state that decides whether training may run now (consent, power, network).
public struct Eligibility: Codable, Sendable, Equatable {
    /// The user agreed to federated training.
    public var consent: Bool
    /// On power, so training does not drain the battery.
    public var charging: Bool
    /// On an unmetered network, so uploads cost the user nothing.
    public var unmetered: Bool
    /// 0…100.
    public var batteryPercent: Int

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(consent: Bool, charging: Bool, unmetered: Bool, batteryPercent: Int) {
        self.consent = consent
        self.charging = charging
        self.unmetered = unmetered
        self.batteryPercent = batteryPercent
    }
}
