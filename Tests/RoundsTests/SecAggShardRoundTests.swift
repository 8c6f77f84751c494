import Learning
import Rounds
import SecureAggregation
import Testing
import Wire

@Suite struct SecAggShardRoundTests {
    struct Setup {
        var round: SecAggShardRound
        var clients: [String: SecAggClient]
        var inputs: [String: ModularVector]
        var generator = SeededGenerator(seed: 5)
        let configuration: SecAggConfiguration
    }

    static func setup(devices: Int = 8) throws -> Setup {
        let configuration = try SecAggConfiguration(
            bitsPerValue: 8,
            modulusBits: 12,
            cohortSize: devices,
            vectorLength: 4,
            degree: 4,
            threshold: 2
        )
        var generator = SeededGenerator(seed: 4)
        let ids = (0..<devices).map { "watch-\($0)" }
        let graph = try #require(NeighbourGraph.random(members: ids, degree: 4, using: &generator))
        let server = try #require(
            SecAggServer(roundId: "7", configuration: configuration, graph: graph, minimumSurvivors: 0)
        )
        var clients: [String: SecAggClient] = [:]
        var inputs: [String: ModularVector] = [:]
        for (index, id) in ids.enumerated() {
            clients[id] = try SecAggClient(id: id, roundId: "7", configuration: configuration, using: &generator)
            inputs[id] = ModularVector(bits: 12, values: [UInt64(index), 1, 2, 3])
        }
        return Setup(
            round: SecAggShardRound(server: server, openedAtMillis: 1_000, stageTimeoutMillis: 500),
            clients: clients,
            inputs: inputs,
            configuration: configuration
        )
    }

    @Test func silentDevicesCloseEachStageAtItsDeadlineAndTheSumIsExact() throws {
        var setup = try Self.setup()
        let silent = "watch-3"
        var pending: [SecAggServerAction] = []
        for (id, client) in setup.clients.sorted(by: { $0.key < $1.key }) where id != silent {
            pending += setup.round.received(
                .keysAdvertised(client.advertisedKeys()),
                from: PeerIdentity(claimed: id),
                now: 1_100
            )
        }
        #expect(pending.isEmpty)
        #expect(setup.round.timer(now: 1_499).isEmpty)
        pending = setup.round.timer(now: 1_500)
        #expect(setup.round.stage == .shareKeys)
        #expect(setup.round.stageDeadlineMillis == 2_000)
        var now: Int64 = 1_600
        var result: SecAggResult?
        while !pending.isEmpty {
            let action = pending.removeFirst()
            now += 1
            switch action {
            case .announceNeighbours(let id, let announcement):
                var client = try #require(setup.clients[id])
                let shares = try client.neighboursAnnounced(announcement, using: &setup.generator)
                setup.clients[id] = client
                pending += setup.round.received(.sharesSent(shares), from: PeerIdentity(claimed: id), now: now)
            case .forwardShares(let id, let shares):
                var client = try #require(setup.clients[id])
                let masked = try client.sharesForwarded(shares, input: try #require(setup.inputs[id]))
                setup.clients[id] = client
                pending += setup.round.received(.maskedInput(masked), from: PeerIdentity(claimed: id), now: now)
            case .requestUnmasking(let id, let request):
                var client = try #require(setup.clients[id])
                let response = try client.unmaskRequested(request)
                setup.clients[id] = client
                pending += setup.round.received(.unmasking(response), from: PeerIdentity(claimed: id), now: now)
            case .complete(let done): result = done
            case .fail(let failure): Issue.record("round failed: \(failure)")
            case .reject(let reason, let sender, let detail):
                // The shard completes as soon as every secret has t shares; answers after that
                // are late, like an update after a shard reported.
                #expect(result != nil && reason == .roundClosed, "rejected \(sender): \(reason) \(detail)")
            }
        }
        let done = try #require(result)
        #expect(!done.survivors.contains(silent))
        // Inputs are [i, 1, 2, 3] for device i; seven survivors, all but device 3.
        #expect(done.sum.values == [UInt64(28 - 3), 7, 14, 21])
        #expect(setup.round.stageDeadlineMillis == nil)
    }

    @Test func aClaimTheTransportContradictsIsRefusedBeforeTheProtocol() throws {
        var setup = try Self.setup()
        let keys = try #require(setup.clients["watch-0"]).advertisedKeys()
        let forged = PeerIdentity(claimed: "watch-0", authenticated: "watch-1")
        let actions = setup.round.received(.keysAdvertised(keys), from: forged, now: 1_001)
        #expect(actions == [.reject(.unauthorizedSender, sender: "watch-0", detail: "claim differs from transport")])
        // The real watch-0 is still welcome: the forgery did not use up its slot.
        #expect(setup.round.received(.keysAdvertised(keys), from: PeerIdentity(claimed: "watch-0"), now: 1_002).isEmpty)
    }

    @Test func aStageLeftWithTooFewDevicesFailsTheRoundAtItsDeadline() throws {
        var setup = try Self.setup()
        let keys = try #require(setup.clients["watch-0"]).advertisedKeys()
        _ = setup.round.received(.keysAdvertised(keys), from: PeerIdentity(claimed: "watch-0"), now: 1_001)
        let actions = setup.round.timer(now: 1_500)
        #expect(actions == [.fail(.tooFewSurvivors(stage: .advertiseKeys, count: 0, needed: 3))])
        #expect(setup.round.stage == .failed)
        #expect(setup.round.timer(now: 9_999).isEmpty)
    }
}
