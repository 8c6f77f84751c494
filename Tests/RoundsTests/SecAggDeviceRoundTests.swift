import Learning
import Rounds
import SecureAggregation
import Testing
import Wire

/// Devices and shard driven together, through the Rounds wrappers only: the round as the
/// runtime will run it, without sockets.
@Suite struct SecAggDeviceRoundTests {
    static let shard = "watch/0"

    /// Ten devices, 3 parameters plus the weight, 16-bit values.
    static func configuration() throws -> SecAggConfiguration {
        try SecAggConfiguration(
            bitsPerValue: 16,
            modulusBits: 20,
            cohortSize: 10,
            vectorLength: 4,
            degree: 4,
            threshold: 2
        )
    }

    static func devices(
        count: Int,
        configuration: SecAggConfiguration,
        quantizer: SecAggQuantizer,
        generator: inout SeededGenerator
    ) throws -> [String: SecAggDeviceRound] {
        var devices: [String: SecAggDeviceRound] = [:]
        for index in 0..<count {
            let id = "watch-\(index)"
            let client = try SecAggClient(id: id, roundId: "9", configuration: configuration, using: &generator)
            let device = try #require(
                SecAggDeviceRound(
                    client: client,
                    shardId: shard,
                    quantizer: quantizer,
                    update: [0.25, -0.5, Float(index) / 100],
                    weight: index + 1,
                    using: &generator
                )
            )
            devices[id] = device
        }
        return devices
    }

    @Test func weightedFloatUpdatesSumThroughTheSecureRound() throws {
        let configuration = try Self.configuration()
        let quantizer = try #require(SecAggQuantizer(configuration: configuration, clipNorm: 1))
        var generator = SeededGenerator(seed: 12)
        var devices = try Self.devices(
            count: 10,
            configuration: configuration,
            quantizer: quantizer,
            generator: &generator
        )
        let graph = try #require(NeighbourGraph.random(members: devices.keys.sorted(), degree: 4, using: &generator))
        let server = try #require(
            SecAggServer(roundId: "9", configuration: configuration, graph: graph, minimumSurvivors: 0)
        )
        var shard = SecAggShardRound(server: server, openedAtMillis: 0, stageTimeoutMillis: 1_000)
        let fromShard = PeerIdentity(claimed: Self.shard)
        var toShard: [(String, SecAggDeviceAction)] = devices.sorted { $0.key < $1.key }.map {
            ($0.key, $0.value.start())
        }
        var result: SecAggResult?
        while !toShard.isEmpty {
            let (id, action) = toShard.removeFirst()
            let event: SecAggShardEvent
            switch action {
            case .sendKeys(let keys): event = .keysAdvertised(keys)
            case .sendShares(let shares): event = .sharesSent(shares)
            case .sendMaskedInput(let vector): event = .maskedInput(vector)
            case .sendUnmasking(let response): event = .unmasking(response)
            case .abort(let error): throw error
            case .reject(let reason, _, _): throw RoundsTestFailure.rejected(reason)
            }
            for reply in shard.received(event, from: PeerIdentity(claimed: id), now: 1) {
                let delivery: (String, SecAggDeviceEvent)?
                switch reply {
                case .announceNeighbours(let to, let announcement): delivery = (to, .neighboursAnnounced(announcement))
                case .forwardShares(let to, let shares): delivery = (to, .sharesForwarded(shares))
                case .requestUnmasking(let to, let request): delivery = (to, .unmaskRequested(request))
                case .complete(let done):
                    result = done
                    delivery = nil
                case .fail, .reject: delivery = nil
                }
                guard let (to, message) = delivery, var device = devices[to] else { continue }
                toShard.append((to, device.received(message, from: fromShard, using: &generator)))
                devices[to] = device
            }
        }
        let done = try #require(result)
        let decoded = try #require(quantizer.dequantizeWeighted(done.sum))
        #expect(decoded.weightSum == 55)
        #expect(abs(decoded.sum[0] - 2.5) < 1e-3)
        #expect(abs(decoded.sum[1] + 5) < 1e-3)
        #expect(abs(decoded.sum[2] - 0.45) < 1e-3)
    }

    @Test func aStageMessageFromAnotherPeerIsRefusedWithoutTouchingTheRound() throws {
        let configuration = try Self.configuration()
        let quantizer = try #require(SecAggQuantizer(configuration: configuration, clipNorm: 1))
        var generator = SeededGenerator(seed: 13)
        var device = try #require(
            try Self.devices(count: 1, configuration: configuration, quantizer: quantizer, generator: &generator)[
                "watch-0"
            ]
        )
        let request = UnmaskRequest(survivors: ["watch-1"], dropped: ["watch-1"])
        let rogue = device.received(
            .unmaskRequested(request),
            from: PeerIdentity(claimed: "watch-5"),
            using: &generator
        )
        #expect(rogue == .reject(.unauthorizedSender, sender: "watch-5", detail: "only watch/0 drives this round"))
        #expect(device.client.stage == .advertiseKeys)
        let early = device.received(
            .unmaskRequested(request),
            from: PeerIdentity(claimed: Self.shard),
            using: &generator
        )
        #expect(early == .abort(.wrongStage(expected: .maskedInput, actual: .advertiseKeys)))
    }
}

enum RoundsTestFailure: Error { case rejected(RejectReason) }
