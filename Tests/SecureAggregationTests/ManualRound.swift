import Learning

@testable import SecureAggregation

/// Drives a round stage by stage so that a test can stand in for the shard or a device
/// between stages (the simulation runs the whole round honestly).
struct ManualRound {
    let configuration: SecAggConfiguration
    let ids: [String]
    var server: SecAggServer
    var clients: [String: SecAggClient]
    var inputs: [String: ModularVector]
    var generator: SeededGenerator

    /// With `signed`, every device signs its keys with an enrolled Ed25519 key and checks its
    /// neighbours' signatures against the directory.
    /// `cipherKeys` are devices' c keys kept from an earlier round (the others draw new ones).
    init(
        devices: Int,
        degree: Int,
        threshold: Int,
        seed: UInt64,
        signed: Bool = false,
        roundId: String = "1",
        cipherKeys: [String: SecAggCipherKey] = [:]
    ) throws {
        configuration = try SecAggConfiguration(
            bitsPerValue: 12,
            modulusBits: 12 + 6,
            cohortSize: devices,
            vectorLength: 16,
            degree: degree,
            threshold: threshold
        )
        generator = SeededGenerator(seed: seed)
        ids = deviceIds(devices)
        guard let graph = NeighbourGraph.random(members: ids, degree: degree, using: &generator),
            let server = SecAggServer(roundId: roundId, configuration: configuration, graph: graph, minimumSurvivors: 0)
        else { throw ManualRoundError.setup }
        self.server = server
        var signingKeys: [String: SecAggSigningKey] = [:]
        if signed { for id in ids { signingKeys[id] = try SecAggSigningKey(using: &generator) } }
        let directory = signed ? signingKeys.mapValues(\.publicKey) : nil
        var clients: [String: SecAggClient] = [:]
        for id in ids {
            clients[id] = try SecAggClient(
                id: id,
                roundId: roundId,
                configuration: configuration,
                signingKey: signingKeys[id],
                enrolledKeys: directory,
                cipherKey: cipherKeys[id],
                using: &generator
            )
        }
        self.clients = clients
        inputs = randomInputs(ids: ids, configuration: configuration, using: &generator)
    }

    enum ManualRoundError: Error {
        case setup
        case missing(String)
    }

    func client(_ id: String) throws -> SecAggClient {
        guard let client = clients[id] else { throw ManualRoundError.missing(id) }
        return client
    }

    /// Every device advertises; returns the announcements by recipient.
    mutating func advertise() throws -> [String: NeighbourAnnouncement] {
        var actions: [SecAggServerAction] = []
        for id in ids { actions += server.keysAdvertised(try client(id).advertisedKeys(), from: id) }
        return Dictionary(
            actions.compactMap { if case .announceNeighbours(let to, let a) = $0 { (to, a) } else { nil } },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// Every announced device shares; returns the forwarded shares by recipient.
    mutating func share(_ announcements: [String: NeighbourAnnouncement]) throws -> [String: [EncryptedShare]] {
        var actions: [SecAggServerAction] = []
        for (id, announcement) in announcements.sorted(by: { $0.key < $1.key }) {
            var device = try client(id)
            let shares = try device.neighboursAnnounced(announcement, using: &generator)
            clients[id] = device
            actions += server.sharesSent(shares, from: id)
        }
        return Dictionary(
            actions.compactMap { if case .forwardShares(let to, let s) = $0 { (to, s) } else { nil } },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// Every device with forwarded shares sends its masked input; returns the unmask requests.
    mutating func mask(_ forwarded: [String: [EncryptedShare]]) throws -> [String: UnmaskRequest] {
        var actions: [SecAggServerAction] = []
        for (id, shares) in forwarded.sorted(by: { $0.key < $1.key }) {
            var device = try client(id)
            guard let input = inputs[id] else { throw ManualRoundError.missing(id) }
            let masked = try device.sharesForwarded(shares, input: input)
            clients[id] = device
            actions += server.maskedInputReceived(masked, from: id)
        }
        return Dictionary(
            actions.compactMap { if case .requestUnmasking(let to, let r) = $0 { (to, r) } else { nil } },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// Every device with a request answers it; returns what the shard released.
    mutating func unmask(_ requests: [String: UnmaskRequest]) throws -> [SecAggServerAction] {
        var actions: [SecAggServerAction] = []
        for (id, request) in requests.sorted(by: { $0.key < $1.key }) {
            var device = try client(id)
            let response = try device.unmaskRequested(request)
            clients[id] = device
            actions += server.unmaskingReceived(response, from: id)
        }
        return actions
    }

    /// The whole round, every device honest; the released sum, or nil when none was released.
    mutating func run() throws -> SecAggResult? {
        let actions = try unmask(try mask(try share(try advertise())))
        for action in actions { if case .complete(let result) = action { return result } }
        return nil
    }
}
