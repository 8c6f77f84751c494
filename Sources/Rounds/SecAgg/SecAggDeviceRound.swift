public import SecureAggregation
public import Wire

/// A shard's message of the secure-aggregation stages, as one device receives it.
public enum SecAggDeviceEvent: Sendable, Hashable {
    case neighboursAnnounced(NeighbourAnnouncement)
    case sharesForwarded([EncryptedShare])
    case unmaskRequested(UnmaskRequest)
}

/// What a device sends (or gives up) in a secure-aggregation round.
public enum SecAggDeviceAction: Sendable, Hashable {
    case sendKeys(AdvertisedKeys)
    case sendShares([EncryptedShare])
    case sendMaskedInput(ModularVector)
    case sendUnmasking(UnmaskResponse)
    /// The device refused the shard's message and takes no further part in this round.
    case abort(SecAggClientError)
    case reject(RejectReason, sender: String, detail: String)
}

/// One edge device's SecAgg+ round: quantizes its clipped update (weight included) once, then
/// answers the shard's stage messages through `SecAggClient`.
///
/// Only the shard the round assigned may drive it: a stage message from anyone else is
/// refused as `unauthorizedSender` without touching the protocol state (decided on
/// `identity.name`, so the transport's proof plugs in). The quantized update lives here, not
/// in the client, so a protocol abort never leaks it anywhere.
public struct SecAggDeviceRound: Sendable {
    public private(set) var client: SecAggClient
    public let shardId: String
    private let input: ModularVector

    /// Nil when the update does not fit the configuration (length, non-finite values, weight).
    public init?(
        client: SecAggClient,
        shardId: String,
        quantizer: SecAggQuantizer,
        update: [Float],
        weight: Int,
        using generator: inout some RandomNumberGenerator
    ) {
        guard quantizer.configuration == client.configuration,
            let input = quantizer.quantize(update, weight: weight, using: &generator)
        else { return nil }
        self.client = client
        self.shardId = shardId
        self.input = input
    }

    /// A round whose input is already in integers mod 2^b (the Skellam encoder's output with
    /// the weight appended); nil when it does not match the configuration.
    public init?(client: SecAggClient, shardId: String, input: ModularVector) {
        let configuration = client.configuration
        guard input.bits == configuration.modulusBits, input.values.count == configuration.vectorLength else {
            return nil
        }
        self.client = client
        self.shardId = shardId
        self.input = input
    }

    /// The first message of the round: this device's advertised keys.
    public func start() -> SecAggDeviceAction { .sendKeys(client.advertisedKeys()) }

    public mutating func received(
        _ event: SecAggDeviceEvent,
        from identity: PeerIdentity,
        using generator: inout some RandomNumberGenerator
    ) -> SecAggDeviceAction {
        guard identity.isConsistent, identity.name == shardId else {
            return .reject(.unauthorizedSender, sender: identity.claimed, detail: "only \(shardId) drives this round")
        }
        do {
            switch event {
            case .neighboursAnnounced(let announcement):
                return .sendShares(try client.neighboursAnnounced(announcement, using: &generator))
            case .sharesForwarded(let shares):
                return .sendMaskedInput(try client.sharesForwarded(shares, input: input))
            case .unmaskRequested(let request):
                return .sendUnmasking(try client.unmaskRequested(request))
            }
        } catch {
            return .abort(error)
        }
    }
}
