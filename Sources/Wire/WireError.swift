/// Why a message (or a part of one) was refused.
///
/// This is the one closed vocabulary of rejections in FedPulse: the raw value is the `reason`
/// dimension of `fedpulse_rejected_total` and the `reject.reason` log field in every role, so
/// a counter, a log line and a ledger entry about the same refusal always agree. The codec
/// produces the first group; the runtime's own checks use the second.
public enum RejectReason: String, CaseIterable, Sendable, Codable, CodingKeyRepresentable {
    // MARK: Produced by `WireCodec`

    /// The header is not UTF-8, not a JSON object, misses a field, or breaks a constraint.
    case malformedHeader
    /// Frame 0 names a topic this build does not know.
    case unknownTopic
    /// Frame 0 and the header disagree on the topic, or the body is not the type asked for.
    case topicMismatch
    /// The header names a schema id other than the one this build speaks for its topic.
    case schemaMismatch
    /// The header, the tensor count or the whole message is larger than `WireLimits` allows.
    case oversized
    /// There are fewer or more tensor frames than the header describes.
    case frameCountMismatch
    /// A tensor frame's length differs from its descriptor, or bytes ≠ elements × 4.
    case byteLengthMismatch
    /// A tensor declares more elements than `WireLimits.maxElementsPerTensor`.
    case tooManyElements
    /// An `f32le` tensor holds a NaN or an infinity.
    case nonFinite
    /// A tensor uses an encoding this build cannot decode.
    case unsupportedEncoding

    // MARK: Produced by the runtime

    /// The tensor digest in the header does not match the frame.
    case digestMismatch
    /// The message belongs to a round that is no longer open.
    case staleRound
    /// The update was trained on another model version than the round's.
    case wrongModelVersion
    /// The sender already contributed to this round.
    case duplicate
    /// The sender was not selected for this round.
    case notInCohort
    /// The sender is not a registered worker or aggregator.
    case unknownSender
    /// The update reached a shard that the sender is not assigned to.
    case wrongShard
    /// The element count differs from the model's parameter count.
    case shapeMismatch
    /// The round's deadline passed or the shard already reported.
    case roundClosed
    /// The update's norm, recomputed by the receiver, is above the round's clip norm.
    case normTooLarge
    /// The update names a device class other than the receiving shard's region.
    case wrongDeviceClass
    /// A count, weight or sum would overflow (integer) or become infinite (float) if taken.
    case overflow
    /// The sender may not send this message (only the coordinator proposes rounds, only the
    /// global aggregator sends model candidates, …); its identity plugs in with transport auth.
    case unauthorizedSender
    /// A bounded buffer (early messages, registry) is full; the message is dropped, not queued.
    case bufferFull
    /// The header's sender differs from the enrolled name the connection's CURVE key proved.
    case senderMismatch

    /// The reasons `WireCodec` itself can produce; the rest come from role logic.
    static let codecReasons: [RejectReason] = [
        .malformedHeader, .unknownTopic, .topicMismatch, .schemaMismatch, .oversized,
        .frameCountMismatch, .byteLengthMismatch, .tooManyElements, .nonFinite, .unsupportedEncoding,
    ]
}

/// A refused encode or decode: a reason from the closed set plus a human-readable detail.
///
/// A struct rather than an enum of payloads so that the reason stays one label for metrics
/// and logs, while the detail (a JSON path, the offending value) is only for people.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The label for counters and the `reject.reason` log field.
    public let code: RejectReason
    /// What exactly was wrong, e.g. `body.eligibility.batteryPercent: 101 is outside 0...100`.
    public let detail: String

    /// Creates an error; roles use it for the runtime reasons (`staleRound`, `duplicate`, …).
    public init(code: RejectReason, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}

extension WireError {
    static func malformed(_ detail: String) -> WireError { WireError(code: .malformedHeader, detail: detail) }
}
