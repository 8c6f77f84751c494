/// A decoded message of any known topic, for a socket that carries several (a PULL `control`).
///
/// A closed enum over the topics this build knows: `WireCodec.decode(_:)` answers
/// `unknownTopic` for the rest, so a `switch` here is exhaustive by construction.
public enum AnyMessage: Sendable, Equatable {
    case checkin(Message<Checkin>)
    case aggregatorHello(Message<AggregatorHello>)
    case roundOpen(Message<RoundOpen>)
    case update(Message<Update>)
    case partial(Message<Partial>)
    case modelCandidate(Message<ModelCandidate>)
    case auditEvent(Message<AuditEvent>)
    case roundProposal(Message<RoundProposal>)
    case roundVerdict(Message<RoundVerdict>)
    case roundCompleted(Message<RoundCompleted>)
    case roundSummary(Message<RoundSummary>)
    case ledgerEntry(Message<LedgerEntryMessage>)
    case runEnd(Message<RunEnd>)
    case secAggKeys(Message<SecAggKeys>)
    case secAggNeighbours(Message<SecAggNeighbours>)
    case secAggShares(Message<SecAggShares>)
    case secAggMasked(Message<SecAggMasked>)
    case secAggUnmaskRequest(Message<SecAggUnmaskRequest>)
    case secAggUnmaskResponse(Message<SecAggUnmaskResponse>)

    /// The message's topic, for logs and the `topic` metric dimension.
    public var topic: Topic { envelope.topic }

    /// The sender named in the header.
    public var sender: String { envelope.sender }

    /// The sender's clock at send time, if given.
    public var sentAtMillis: Int64? { envelope.sentAtMillis }

    /// The tensor frames in order.
    public var tensors: [Tensor] { envelope.tensors }

    private var envelope: (topic: Topic, sender: String, sentAtMillis: Int64?, tensors: [Tensor]) {
        switch self {
        case .checkin(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .aggregatorHello(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .roundOpen(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .update(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .partial(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .modelCandidate(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .auditEvent(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .roundProposal(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .roundVerdict(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .roundCompleted(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .roundSummary(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .ledgerEntry(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .runEnd(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .secAggKeys(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .secAggNeighbours(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .secAggShares(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .secAggMasked(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .secAggUnmaskRequest(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        case .secAggUnmaskResponse(let m): (m.topic, m.sender, m.sentAtMillis, m.tensors)
        }
    }
}

extension WireCodec {
    /// Decodes a message whose topic the caller does not know in advance.
    ///
    /// Total: every input yields a message or a `WireError` whose code is one of
    /// `RejectReason.codecReasons`.
    public func decode(_ frames: [[UInt8]]) -> Result<AnyMessage, WireError> {
        let topic: Topic
        switch readTopic(frames) {
        case .success(let known): topic = known
        case .failure(let error): return .failure(error)
        }
        switch topic {
        case .checkin: return decode(frames, as: Checkin.self).map(AnyMessage.checkin)
        case .aggregatorHello: return decode(frames, as: AggregatorHello.self).map(AnyMessage.aggregatorHello)
        case .roundOpen: return decode(frames, as: RoundOpen.self).map(AnyMessage.roundOpen)
        case .update: return decode(frames, as: Update.self).map(AnyMessage.update)
        case .partial: return decode(frames, as: Partial.self).map(AnyMessage.partial)
        case .modelCandidate: return decode(frames, as: ModelCandidate.self).map(AnyMessage.modelCandidate)
        case .auditEvent: return decode(frames, as: AuditEvent.self).map(AnyMessage.auditEvent)
        case .roundProposal: return decode(frames, as: RoundProposal.self).map(AnyMessage.roundProposal)
        case .roundVerdict: return decode(frames, as: RoundVerdict.self).map(AnyMessage.roundVerdict)
        case .roundCompleted: return decode(frames, as: RoundCompleted.self).map(AnyMessage.roundCompleted)
        case .roundSummary: return decode(frames, as: RoundSummary.self).map(AnyMessage.roundSummary)
        case .ledgerEntry: return decode(frames, as: LedgerEntryMessage.self).map(AnyMessage.ledgerEntry)
        case .runEnd: return decode(frames, as: RunEnd.self).map(AnyMessage.runEnd)
        case .secAggKeys: return decode(frames, as: SecAggKeys.self).map(AnyMessage.secAggKeys)
        case .secAggNeighbours: return decode(frames, as: SecAggNeighbours.self).map(AnyMessage.secAggNeighbours)
        case .secAggShares: return decode(frames, as: SecAggShares.self).map(AnyMessage.secAggShares)
        case .secAggMasked: return decode(frames, as: SecAggMasked.self).map(AnyMessage.secAggMasked)
        case .secAggUnmaskRequest:
            return decode(frames, as: SecAggUnmaskRequest.self).map(AnyMessage.secAggUnmaskRequest)
        case .secAggUnmaskResponse:
            return decode(frames, as: SecAggUnmaskResponse.self).map(AnyMessage.secAggUnmaskResponse)
        default: return .failure(WireError(code: .unknownTopic, detail: "no decoder for topic \(topic)"))
        }
    }
}
