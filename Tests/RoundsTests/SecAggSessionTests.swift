import Learning
import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// The shard and device sessions together, every message through the real codec: what the
/// runtime shells do, without sockets.
@Suite struct SecAggSessionTests {
    static let settings = SecureAggregationSettings(
        valueBits: 16,
        clipNorm: 4,
        dropoutRate: 0.3,
        corruptRate: 0.05,
        stageTimeoutMillis: 500
    )
    static let parameters = 6
    static let shardId = GlobalRound.aggregatorId(region: .watch, shard: 0)

    static func open(devices: Int, selection: CohortSelection = .listed) -> Message<RoundOpen> {
        let members = (0..<devices).map { "watch-\($0)" }
        var weights = Tensor.f32le(name: "weights", [Float](repeating: 0, count: parameters))
        weights.sha256 = String(repeating: "0", count: 64)
        return Message(
            sender: "coordinator",
            body: RoundOpen(
                roundId: 9,
                kind: .train,
                modelVersion: 3,
                modelDigest: String(repeating: "0", count: 64),
                modelSpec: .object([:]),
                training: TrainingSettings(epochs: 1, batchSize: 8, learningRate: 0.1, l2: 0, proxMu: 0),
                privacy: PrivacySettings(placement: .off, clipNorm: nil, noiseMultiplier: 0, expectedCohort: 1),
                selection: selection,
                samplingRate: selection == .poisson ? 0.5 : nil,
                shards: [
                    ShardAssignment(
                        region: .watch,
                        shard: 0,
                        endpoint: "tcp://127.0.0.1:7100",
                        members: members,
                        secureAggregationEndpoint: "tcp://127.0.0.1:7101"
                    )
                ],
                globalEndpoint: "tcp://127.0.0.1:7200",
                deadlineMillis: 10_000,
                minParticipants: 1,
                samplingSeed: selection == .poisson ? nil : 1,
                secureAggregation: settings
            ),
            tensors: [weights]
        )
    }

    static func delta(_ index: Int) -> [Float] {
        (0..<parameters).map { Float(index % 5) * 0.1 - Float($0) * 0.05 }
    }

    /// Encodes and decodes, as the socket shells do.
    static func wire<B: MessageBody>(_ body: B, sender: String, tensors: [Tensor] = []) throws -> AnyMessage {
        let frames = try WireCodec().encode(body, sender: sender, tensors: tensors)
        return try WireCodec().decode(frames).get()
    }

    struct Run {
        var shard = SecAggShardSession(region: .watch, shard: 0)
        var devices: [String: SecAggDeviceSession] = [:]
        var generator = SeededGenerator(seed: 11)
        var partial: (Partial, [Tensor])?
        var failures: [String] = []
        var stages: [String] = []
        var rejections: [RejectReason] = []
        /// Devices that are gone before this message reaches them (`neighbours`, `shares`, `unmask`).
        var goneBefore: [String: String] = [:]

        static func kind(_ outgoing: SecAggOutgoing) -> String {
            switch outgoing {
            case .neighbours: "neighbours"
            case .shares: "shares"
            case .unmaskRequest: "unmask"
            }
        }

        mutating func deliver(_ actions: [SecAggShardAction]) throws {
            var queue = actions
            while !queue.isEmpty {
                let action = queue.removeFirst()
                switch action {
                case .send(let to, let outgoing):
                    guard var device = devices[to], goneBefore[to] != Self.kind(outgoing) else { continue }
                    let message: AnyMessage
                    switch outgoing {
                    case .neighbours(let framed):
                        message = try wire(framed.body, sender: shardId, tensors: framed.tensors)
                    case .shares(let framed): message = try wire(framed.body, sender: shardId, tensors: framed.tensors)
                    case .unmaskRequest(let framed):
                        message = try wire(framed.body, sender: shardId, tensors: framed.tensors)
                    }
                    let answers = device.received(message, from: PeerIdentity(claimed: shardId), using: &generator)
                    devices[to] = device
                    for answer in answers {
                        guard case .send(let out) = answer else { continue }
                        queue += try shard.received(
                            SecAggSessionTests.message(out, from: to),
                            from: PeerIdentity(claimed: to, authenticated: to),
                            byteCount: 100,
                            now: 2_000
                        )
                    }
                case .sendPartial(let body, let tensors): partial = (body, tensors)
                case .failed(_, let stage, let detail): failures.append("\(stage): \(detail)")
                case .stageOpened(_, let stage, _): stages.append(stage)
                case .reject(let reason, _, _, _): rejections.append(reason)
                case .connectUpward: break
                }
            }
        }
    }

    static func message(_ outgoing: SecAggDeviceOutgoing, from sender: String) throws -> AnyMessage {
        switch outgoing {
        case .keys(let framed): try wire(framed.body, sender: sender, tensors: framed.tensors)
        case .shares(let framed): try wire(framed.body, sender: sender, tensors: framed.tensors)
        case .masked(let body, let tensor): try wire(body, sender: sender, tensors: [tensor])
        case .unmaskResponse(let framed): try wire(framed.body, sender: sender, tensors: framed.tensors)
        }
    }

    /// Opens the round on the shard and every device (`silent` never advertises).
    static func start(
        devices: Int,
        silent: Set<String> = [],
        goneBefore: [String: String] = [:],
        selection: CohortSelection = .listed
    ) throws -> Run {
        var run = Run()
        run.goneBefore = goneBefore
        run.shard.recordsObservations = true
        let message = open(devices: devices, selection: selection)
        try run.deliver(run.shard.roundOpened(message, now: 1_000, using: &run.generator))
        let assignment = try #require(message.body.shards.first)
        for (index, id) in assignment.members.enumerated() where !silent.contains(id) {
            // Under Poisson selection the odd members did not sample themselves: weight 0, zeros.
            let sampled = selection == .listed || index % 2 == 0
            let started = try SecAggDeviceSession.start(
                message,
                assignment: assignment,
                deviceId: id,
                delta: sampled ? delta(index) : [Float](repeating: 0, count: parameters),
                weight: sampled ? 1 : 0,
                using: &run.generator
            ).get()
            run.devices[id] = started.session
            try run.deliver(
                run.shard.received(
                    Self.message(started.first, from: id),
                    from: PeerIdentity(claimed: id, authenticated: id),
                    byteCount: 100,
                    now: 1_500
                )
            )
        }
        return run
    }

    @Test func theShardsPartialIsTheSurvivorsSumAndItNeverHeldOneDevicesUpdate() throws {
        var run = try Self.start(devices: 10, silent: ["watch-7"], goneBefore: ["watch-2": "shares"])
        for now in stride(from: Int64(1_000), through: 20_000, by: 250) where run.partial == nil {
            try run.deliver(run.shard.timerFired(now: now))
        }
        let (partial, tensors) = try #require(run.partial)
        #expect(run.failures.isEmpty)
        #expect(partial.contributors == 8 && partial.weightSum == 8)
        #expect(Set(partial.members) == Set((0..<10).filter { $0 != 7 && $0 != 2 }.map { "watch-\($0)" }))
        let record = try #require(partial.secureAggregation)
        #expect(record.survivors == 8 && record.advertised == 9 && record.valueBits == 16)
        let expected = (0..<10).filter { $0 != 7 && $0 != 2 }.reduce([Float](repeating: 0, count: Self.parameters)) {
            zip($0, Self.delta($1)).map { $0 + $1 }
        }
        let sum = try #require(tensors.first { $0.name == "sum" }).floats()
        // 16-bit stochastic rounding on [−4, 4]: each value is within 4/32767 of the truth.
        for (got, want) in zip(sum, expected) { #expect(abs(got - want) < 8 * 4 / 32_767 + 1e-6) }
        // The shell's state: every masked input it saw is uniform noise next to the update.
        let observations = try #require(run.shard.current?.round?.server._observations)
        let quantizer = try #require(run.shard.current?.quantizer)
        var inputs = 0
        for case .maskedInput(let sender, let vector) in observations {
            inputs += 1
            let index = try #require(Int(sender.dropFirst("watch-".count)))
            let seen = quantizer.dequantize(vector)
            let distance = zip(seen, Self.delta(index)).map { abs($0 - $1) }.max() ?? 0
            #expect(distance > 1, "\(sender)'s masked input is within \(distance) of its update")
        }
        #expect(inputs == 8)
        #expect(run.shard.current?.round?.server._checkInvariants() == [])
    }

    @Test func tooManyDropoutsFailTheRoundAndReleaseAnEmptyPartial() throws {
        var run = try Self.start(
            devices: 10,
            goneBefore: Dictionary(uniqueKeysWithValues: (0..<8).map { ("watch-\($0)", "unmask") })
        )
        for now in stride(from: Int64(1_000), through: 20_000, by: 250) where run.partial == nil {
            try run.deliver(run.shard.timerFired(now: now))
        }
        let (partial, tensors) = try #require(run.partial)
        #expect(run.failures.count == 1)
        #expect(partial.contributors == 0 && partial.members.isEmpty && partial.secureAggregation == nil)
        #expect(tensors.first?.floats() == [Float](repeating: 0, count: Self.parameters))
    }

    /// A member that did not sample itself joins with weight 0: the sum counts only the others.
    @Test func poissonMembersWithWeightZeroAreNotCountedAndNotNamed() throws {
        let run = try Self.start(devices: 8, selection: .poisson)
        let (partial, _) = try #require(run.partial)
        #expect(partial.contributors == 4 && partial.weightSum == 4 && partial.members.isEmpty)
        #expect(partial.secureAggregation?.survivors == 8)
    }

    /// The attacker holds watch-3's connection and sends keys claiming watch-4.
    @Test func aStageMessageWhoseClaimDiffersFromTheTransportIsRefused() throws {
        var run = try Self.start(devices: 6, silent: ["watch-4"])
        var generator = SeededGenerator(seed: 3)
        let message = Self.open(devices: 6)
        let forged = try SecAggDeviceSession.start(
            message,
            assignment: try #require(message.body.shards.first),
            deviceId: "watch-4",
            delta: Self.delta(0),
            using: &generator
        ).get()
        let actions = run.shard.received(
            try Self.message(forged.first, from: "watch-4"),
            from: PeerIdentity(claimed: "watch-4", authenticated: "watch-3"),
            byteCount: 1,
            now: 1_600
        )
        #expect(actions.count == 1)
        guard case .reject(.senderMismatch, _, _, _)? = actions.first else {
            Issue.record("expected senderMismatch, got \(actions)")
            return
        }
        let outsider = run.shard.received(
            try Self.message(forged.first, from: "phone-1"),
            from: PeerIdentity(claimed: "phone-1", authenticated: "phone-1"),
            byteCount: 1,
            now: 1_600
        )
        guard case .reject(.notInCohort, _, _, _)? = outsider.first else {
            Issue.record("expected notInCohort, got \(outsider)")
            return
        }
    }

    /// The modulus always covers the cohort's sum (b = k + ⌈log2 n⌉, packed on the wire, so the
    /// old 24-bit cap of the f32 carrier is gone), and a cohort past the protocol's limit is
    /// refused by the plan both sides use.
    @Test func theModulusCoversTheCohortAndAnOversizedCohortIsRefused() throws {
        for (cohort, bits) in [(256, 24), (257, 25), (1_000, 26), (1_000_000, 36)] {
            guard
                case .success(let plan) = SecAggPlan.make(
                    settings: Self.settings,
                    cohortSize: cohort,
                    parameterCount: 4
                )
            else {
                Issue.record("no plan for \(cohort) devices")
                continue
            }
            #expect(plan.configuration.modulusBits == bits, "\(cohort) devices")
        }
        guard
            case .failure(let error) = SecAggPlan.make(
                settings: Self.settings,
                cohortSize: SecAggConfiguration.maxCohort + 1,
                parameterCount: 4
            )
        else {
            Issue.record("a cohort past the protocol's limit was planned")
            return
        }
        #expect(error.code == .malformedHeader)
        #expect(SecAggPlan.largestCohort(valueBits: 16) == SecAggConfiguration.maxCohort)
        var run = Run()
        try run.deliver(run.shard.roundOpened(Self.open(devices: 257), now: 1_000, using: &run.generator))
        #expect(run.failures.isEmpty, "257 devices at 16 bits fit the packed wire: \(run.failures)")
    }
}

extension SecAggSessionTests {
    /// Float noise on the device before masking is refused by the shard and the device alike.
    @Test func distributedNoiseIsRefusedOnBothSides() throws {
        var message = Self.open(devices: 6)
        message.body.privacy = PrivacySettings(
            placement: .distributed,
            clipNorm: 1,
            noiseMultiplier: 1,
            expectedCohort: 6
        )
        var run = Run()
        try run.deliver(run.shard.roundOpened(message, now: 1_000, using: &run.generator))
        #expect(run.failures.count == 1 && run.partial?.0.contributors == 0)
        let started = SecAggDeviceSession.start(
            message,
            assignment: try #require(message.body.shards.first),
            deviceId: "watch-0",
            delta: Self.delta(0),
            using: &run.generator
        )
        guard case .failure(let error) = started else {
            Issue.record("a device started a secure round under distributed noise")
            return
        }
        #expect(error.detail.contains("distributed"))
    }
}

extension SecAggSessionTests {
    /// A device that trains fast sends its keys before the shard has read the `round.open`:
    /// they are kept and replayed, so the device is not a dropout.
    @Test func keysThatArriveBeforeTheRoundOpensAreReplayed() throws {
        var run = Run()
        let message = Self.open(devices: 5)
        let assignment = try #require(message.body.shards.first)
        var firsts: [(String, SecAggDeviceOutgoing)] = []
        for (index, id) in assignment.members.enumerated() {
            let started = try SecAggDeviceSession.start(
                message,
                assignment: assignment,
                deviceId: id,
                delta: Self.delta(index),
                using: &run.generator
            ).get()
            run.devices[id] = started.session
            firsts.append((id, started.first))
        }
        for (id, first) in firsts.prefix(2) {
            let early = run.shard.received(
                try Self.message(first, from: id),
                from: PeerIdentity(claimed: id, authenticated: id),
                byteCount: 1,
                now: 900
            )
            #expect(early.isEmpty, "kept, not refused")
        }
        try run.deliver(run.shard.roundOpened(message, now: 1_000, using: &run.generator))
        for (id, first) in firsts.dropFirst(2) {
            try run.deliver(
                run.shard.received(
                    try Self.message(first, from: id),
                    from: PeerIdentity(claimed: id, authenticated: id),
                    byteCount: 1,
                    now: 1_100
                )
            )
        }
        let (partial, _) = try #require(run.partial, "the round completed without waiting for a deadline")
        #expect(partial.contributors == 5 && partial.secureAggregation?.advertised == 5)
        #expect(run.rejections.isEmpty)
    }
}
