import Privacy
public import SecureAggregation
public import Wire

/// A device-to-shard message of the secure-aggregation stages, as the shell sends it.
public enum SecAggDeviceOutgoing: Sendable, Equatable {
    case keys(SecAggFramed<SecAggKeys>)
    case shares(SecAggFramed<SecAggShares>)
    case masked(SecAggMasked, Tensor)
    case unmaskResponse(SecAggFramed<SecAggUnmaskResponse>)
}

/// What a device's secure-aggregation round asks its shell to do.
public enum SecAggDeviceSessionAction: Sendable, Equatable {
    case send(SecAggDeviceOutgoing)
    case reject(RejectReason, sender: String, detail: String)
    /// The device refused the shard's message and takes no further part in the round.
    case abort(detail: String)
}

/// One edge device's secure-aggregation round, in `round.open` and `secagg.*` bodies: the
/// pure shell around `SecAggDeviceRound`.
///
/// The device clips its delta to the settings' range C itself (the shard cannot check a
/// norm it never sees), quantizes it with the shared scale and weight 1 inside the vector,
/// (under `skellam`: encodes it with `SkellamEncoder`, noise included, at the settings' bits),
/// and from then on only answers the shard the round assigned (proven by the transport).
/// The plain delta never leaves this value: what goes out is keys, sealed shares, the
/// masked vector and the shares the protocol allows.
public struct SecAggDeviceSession: Sendable {
    public let roundId: Int
    public let shard: Int
    public let shardId: String
    private var round: SecAggDeviceRound
    /// The announced neighbours' points and this device's own: how the later stages name them.
    private var book = SecAggPointBook()
    public private(set) var isOver = false
    /// The device's c key with its cached agreements, for its next round (`SecAggCipherKey`).
    public var cipherKey: SecAggCipherKey { round.client.cipherKey }

    /// Starts the round (`weight` 1 for a trained delta; 0 with a zero delta for a population
    /// member that did not sample itself, so the protocol's graph keeps its degree): nil with why when the round's numbers cannot be built (the shard
    /// fails the same way and reports itself empty). `cipherKey` is the device's c key from its
    /// previous round (nil on its first, or after a restart).
    public static func start(
        _ message: Message<RoundOpen>,
        assignment: ShardAssignment,
        deviceId: String,
        delta: [Float],
        weight: Int = 1,
        cipherKey: SecAggCipherKey? = nil,
        using generator: inout some RandomNumberGenerator
    ) -> Result<(session: SecAggDeviceSession, first: SecAggDeviceOutgoing), WireError> {
        let open = message.body
        guard let settings = open.secureAggregation else {
            return .failure(WireError(code: .malformedHeader, detail: "round \(open.roundId) is not secure-aggregated"))
        }
        if let refusal = SecAggPlan.refusal(of: open) { return .failure(refusal) }
        let plan: (configuration: SecAggConfiguration, quantizer: SecAggQuantizer)
        switch SecAggPlan.make(settings: settings, cohortSize: assignment.members.count, parameterCount: delta.count) {
        case .success(let made): plan = made
        case .failure(let error): return .failure(error)
        }
        let client: SecAggClient
        do {
            client = try SecAggClient(
                id: deviceId,
                roundId: SecAggPlan.protocolRoundId(open.roundId),
                configuration: plan.configuration,
                cipherKey: cipherKey,
                using: &generator
            )
        } catch {
            return .failure(WireError(code: .malformedHeader, detail: "key generation: \(error)"))
        }
        let shardId = GlobalRound.aggregatorId(region: assignment.region, shard: assignment.shard)
        let made: SecAggDeviceRound?
        if open.privacy.placement == .skellam {
            switch skellamInput(
                open,
                delta: delta,
                weight: weight,
                configuration: plan.configuration,
                using: &generator
            )
            {
            case .success(let input): made = SecAggDeviceRound(client: client, shardId: shardId, input: input)
            case .failure(let error): return .failure(error)
            }
        } else {
            let clipNorm: Double
            switch SecAggPlan.deviceClipNorm(open: open, quantizer: plan.quantizer, parameterCount: delta.count) {
            case .success(let limit): clipNorm = limit
            case .failure(let error): return .failure(error)
            }
            var clipped = delta
            _ = Clipping.clip(&clipped, to: clipNorm)
            made = SecAggDeviceRound(
                client: client,
                shardId: shardId,
                quantizer: plan.quantizer,
                update: clipped,
                weight: weight,
                using: &generator
            )
        }
        guard let round = made else {
            return .failure(WireError(code: .nonFinite, detail: "the update does not fit the round's quantizer"))
        }
        let session = SecAggDeviceSession(roundId: open.roundId, shard: assignment.shard, round: round)
        guard case .sendKeys(let keys) = round.start() else {
            return .failure(WireError(code: .malformedHeader, detail: "no keys to advertise"))
        }
        return .success((session, .keys(keys.wire(roundId: open.roundId, shard: assignment.shard))))
    }

    /// The Skellam integers of `delta` (clipped, scaled, conditionally rounded, Sk(μ) noise
    /// drawn from `generator`, the CSPRNG outside tests) with `weight` appended, reduced
    /// mod 2^b: what a device of a `skellam` round masks instead of the quantizer's output.
    /// A device that did not sample itself encodes a zero delta: its noise is still in the sum,
    /// which is what the accountant charges at the securely counted survivors.
    static func skellamInput(
        _ open: RoundOpen,
        delta: [Float],
        weight: Int,
        configuration: SecAggConfiguration,
        using generator: inout some RandomNumberGenerator
    ) -> Result<ModularVector, WireError> {
        let parameters: SkellamParameters
        switch SecAggPlan.skellamParameters(
            open: open,
            parameterCount: delta.count,
            cohortSize: configuration.cohortSize,
            modulusBits: configuration.modulusBits
        ) {
        case .success(let made): parameters = made
        case .failure(let error): return .failure(error)
        }
        guard let encoder = SkellamEncoder(parameters), weight >= 0, Int64(weight) <= parameters.largestValue else {
            return .failure(WireError(code: .malformedHeader, detail: "weight \(weight) or Skellam parameters"))
        }
        let integers: [Int64]
        do {
            integers = try encoder.encode(update: delta, rng: &generator)
        } catch {
            return .failure(WireError(code: .nonFinite, detail: "Skellam encoding: \(error)"))
        }
        let bits = configuration.modulusBits
        let mask: UInt64 = bits >= 64 ? .max : (1 << UInt64(bits)) - 1
        let values = (integers + [Int64(weight)]).map { UInt64(bitPattern: $0) & mask }
        guard let vector = ModularVector(bits: bits, values: values) else {
            return .failure(WireError(code: .overflow, detail: "Skellam integers mod 2^\(bits)"))
        }
        return .success(vector)
    }

    private init(roundId: Int, shard: Int, round: SecAggDeviceRound) {
        self.roundId = roundId
        self.shard = shard
        self.shardId = round.shardId
        self.round = round
    }

    /// A message from the shard on the device's DEALER.
    public mutating func received(
        _ message: AnyMessage,
        from identity: PeerIdentity,
        using generator: inout some RandomNumberGenerator
    ) -> [SecAggDeviceSessionAction] {
        let sender = identity.name
        guard !isOver else { return [] }
        let event: SecAggDeviceEvent
        var announced: NeighbourAnnouncement?
        switch message {
        case .secAggNeighbours(let m) where m.body.roundId == roundId && m.body.shard == shard:
            guard let announcement = NeighbourAnnouncement(wire: m) else {
                return [.reject(.malformedHeader, sender: sender, detail: "unreadable neighbour keys")]
            }
            announced = announcement
            event = .neighboursAnnounced(announcement)
        case .secAggShares(let m) where m.body.roundId == roundId && m.body.shard == shard:
            switch EncryptedShare.shares(wire: m, book: book) {
            case .success(let shares): event = .sharesForwarded(shares)
            case .failure(let refusal): return refuse(refusal, from: identity, what: "shares")
            }
        case .secAggUnmaskRequest(let m) where m.body.roundId == roundId && m.body.shard == shard:
            switch UnmaskRequest.from(wire: m, book: book) {
            case .success(let request): event = .unmaskRequested(request)
            case .failure(let refusal): return refuse(refusal, from: identity, what: "unmask request")
            }
        default:
            return [.reject(.staleRound, sender: sender, detail: "\(message.topic) is not for round \(roundId)")]
        }
        switch round.received(event, from: identity, using: &generator) {
        case .sendKeys(let keys):
            return [.send(.keys(keys.wire(roundId: roundId, shard: shard)))]
        case .sendShares(let shares):
            let deviceId = round.client.id
            // Only the announcement the client accepted (from the assigned shard) names points.
            if let announced { book = SecAggPointBook(announcement: announced, ownId: deviceId) }
            guard
                let framed = EncryptedShare.wire(
                    shares,
                    holder: deviceId,
                    sealedByHolder: true,
                    roundId: roundId,
                    shard: shard,
                    book: book
                )
            else {
                isOver = true
                return [.abort(detail: "a sealed share is not from \(deviceId)")]
            }
            return [.send(.shares(framed))]
        case .sendMaskedInput(let vector):
            guard let tensor = vector.tensor() else {
                isOver = true
                return [.abort(detail: "the masked vector does not fit the wire's 24 bits")]
            }
            return [.send(.masked(SecAggMasked(roundId: roundId, shard: shard, modulusBits: vector.bits), tensor))]
        case .sendUnmasking(let response):
            isOver = true
            guard let framed = response.wire(roundId: roundId, shard: shard, book: book) else {
                return [.abort(detail: "an unmask share of a device with no announced point")]
            }
            return [.send(.unmaskResponse(framed))]
        case .abort(let error):
            isOver = true
            return [.abort(detail: "\(error)")]
        case .reject(let reason, let sender, let detail):
            return [.reject(reason, sender: sender, detail: detail)]
        }
    }

    /// Frames that do not match their header are refused and the round goes on (a garbled
    /// message is not a story); a point the announcement did not name ends the device's part,
    /// as an unknown id did: an honest device stops rather than guess who the shard means.
    /// Only the assigned shard can end the round this way: anyone else is refused first, as
    /// `SecAggDeviceRound` refuses them.
    private mutating func refuse(
        _ refusal: SecAggWireRefusal,
        from identity: PeerIdentity,
        what: String
    ) -> [SecAggDeviceSessionAction] {
        let sender = identity.name
        guard identity.isConsistent, sender == shardId else {
            return [
                .reject(.unauthorizedSender, sender: identity.claimed, detail: "only \(shardId) drives this round")
            ]
        }
        switch refusal {
        case .unreadable:
            return [.reject(.malformedHeader, sender: sender, detail: "unreadable \(what)")]
        case .unknownPoint(let point):
            isOver = true
            return [.abort(detail: "\(what) names point \(point), which the announcement did not")]
        }
    }
}
