/// The typed body of one topic's header (`body` in the JSON), with the constraints of its schema.
///
/// Both sides of the codec call `validate()`, so whatever the runtime receives already holds
/// every range, enum and non-empty-id rule of `schemas/<topic>.schema.json`, and whatever it
/// sends is accepted by the schema.
public protocol MessageBody: Codable, Sendable, Equatable {
    /// The topic whose header carries this body.
    static var topic: Topic { get }

    /// Whether a header of this topic may describe tensor frames; the codec refuses any on a
    /// topic that carries none (its schema's `tensors` has `maxItems: 0`).
    static var carriesTensors: Bool { get }

    /// Throws `malformedHeader`, naming the field, when a constraint of the schema is broken.
    ///
    /// Public so that a role can check a body it assembled from outside data before it
    /// commits to sending it; the codec calls it anyway.
    func validate() throws(WireError)
}

extension MessageBody {
    /// Most topics carry tensors; the control and ledger topics say otherwise.
    public static var carriesTensors: Bool { true }
}

/// One decoded (or to-be-encoded) message: the header's envelope fields, its body, its tensors.
public struct Message<Body: MessageBody>: Sendable, Equatable {
    /// Who sent it (a worker, aggregator, coordinator or auditor id); not authenticated by Wire.
    public var sender: String
    /// The sender's wall clock at send time, epoch milliseconds, if it chose to say.
    public var sentAtMillis: Int64?
    /// The topic-specific fields.
    public var body: Body
    /// The tensor frames, in frame order, each with its descriptor.
    public var tensors: [Tensor]

    /// Creates a message, for `WireCodec.encode(_:)` or for tests of role logic.
    public init(sender: String, sentAtMillis: Int64? = nil, body: Body, tensors: [Tensor] = []) {
        self.sender = sender
        self.sentAtMillis = sentAtMillis
        self.body = body
        self.tensors = tensors
    }

    /// The topic of `Body`, for logs and metrics.
    public var topic: Topic { Body.topic }

    /// The first tensor with this name; names are unique within a message.
    public func tensor(named name: String) -> Tensor? {
        tensors.first { $0.name == name }
    }
}

/// The JSON object in frame 1: the common envelope around a topic's body.
struct Envelope<Body: MessageBody>: Codable {
    var schema: String
    var topic: String
    var sender: String
    var sentAtMillis: Int64?
    var tensors: [TensorDescriptor]
    var body: Body
}

// MARK: - Value types shared by several topics

/// A class of wearable device on the wire; also the name of a region (one aggregator tier per class).
///
/// Named `…Name` so it does not collide with the learning module's `DeviceClass` (which carries
/// feature availability and noise) in files that import both; convert through `rawValue`.
public enum DeviceClassName: String, Codable, Sendable, CaseIterable, CodingKeyRepresentable {
    case watch, phone, tablet
}

/// What a round computes: model training, or federated feature statistics for scaling.
public enum RoundKind: String, Codable, Sendable, CaseIterable {
    case train, statistics
}

/// Where noise is added, if anywhere (DESIGN.md §4): Gaussian (`central`, `distributed`,
/// `local`) or the devices' discrete Skellam noise under secure aggregation (`skellam`).
public enum NoisePlacement: String, Codable, Sendable, CaseIterable {
    case off, central, distributed, local, skellam
}

/// Contributors per device class, as `{"watch": 12, "phone": 20}`; absent classes had none reported.
public struct ParticipantCounts: Codable, Sendable, Equatable {
    /// Contributors that are watches (≥ 0).
    public var watch: Int?
    /// Contributors that are phones (≥ 0).
    public var phone: Int?
    /// Contributors that are tablets (≥ 0).
    public var tablet: Int?

    /// Creates counts; a nil class is omitted from the JSON.
    public init(watch: Int? = nil, phone: Int? = nil, tablet: Int? = nil) {
        self.watch = watch
        self.phone = phone
        self.tablet = tablet
    }

    /// Builds the counts from a dictionary keyed by device-class raw value; other keys are ignored.
    public init(_ counts: [String: Int]) {
        self.init(watch: counts["watch"], phone: counts["phone"], tablet: counts["tablet"])
    }

    /// The present counts keyed by device-class raw value, for reports and metrics.
    public var counts: [String: Int] {
        var result: [String: Int] = [:]
        result["watch"] = watch
        result["phone"] = phone
        result["tablet"] = tablet
        return result
    }

    /// The count of one device class by its raw value (`"watch"`), nil when absent.
    public subscript(deviceClass: String) -> Int? { counts[deviceClass] }

    func validate(_ check: FieldCheck) throws(WireError) {
        for (name, count) in counts { try check.atLeast(name, count, 0) }
    }
}

/// Aggregate evaluation of the received global model on local hold-out data.
///
/// Only aggregates cross the wire; a shard or the global aggregator combines them weighted by
/// `examples`.
public struct MetricsSummary: Codable, Sendable, Equatable {
    /// Hold-out examples evaluated (≥ 0).
    public var examples: Int
    /// Mean loss (finite, ≥ 0).
    public var loss: Double
    /// Fraction correct, 0…1.
    public var accuracy: Double

    /// Creates a summary; the codec checks the ranges.
    public init(examples: Int, loss: Double, accuracy: Double) {
        self.examples = examples
        self.loss = loss
        self.accuracy = accuracy
    }

    func validate(_ check: FieldCheck) throws(WireError) {
        try check.atLeast("examples", examples, 0)
        try check.nonNegative("loss", loss)
        try check.require(accuracy >= 0 && accuracy <= 1, "accuracy", "\(accuracy) is outside 0...1")
    }
}
