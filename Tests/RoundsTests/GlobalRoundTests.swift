import Federation
import Learning
import Testing
import Wire

@testable import Rounds

/// Plain values for the global aggregator: two watch shards, three members each.
enum GlobalFixtures {
    typealias F = ShardFixtures
    static let shard0 = ["watch-0", "watch-1", "watch-2"]
    static let shard1 = ["watch-3", "watch-4", "watch-5"]

    static func open(privacy: PrivacySettings = F.privacy(.off)) -> Message<RoundOpen> {
        F.open(
            privacy: privacy,
            shards: [
                ShardAssignment(region: .watch, shard: 0, endpoint: "tcp://127.0.0.1:7100", members: shard0),
                ShardAssignment(region: .watch, shard: 1, endpoint: "tcp://127.0.0.1:7101", members: shard1),
            ]
        )
    }

    /// An honest partial of shard `shard`, sent by that shard's aggregator.
    static func partial(
        shard: Int,
        members: [String]? = nil,
        contributors: Int? = nil,
        value: Float = 0.3,
        elements: Int = F.parameters,
        sender: String? = nil,
        clipped: Int = 0
    ) -> Message<Partial> {
        let ids = members ?? (shard == 0 ? shard0 : shard1)
        let body = Partial(
            roundId: F.roundId,
            modelVersion: F.modelVersion,
            region: .watch,
            shard: shard,
            contributors: contributors ?? ids.count,
            weightSum: Double(ids.count),
            members: ids,
            clippedCount: clipped
        )
        return Message(
            sender: sender ?? "region-watch-\(shard)",
            body: body,
            tensors: [.f32le(name: "sum", [Float](repeating: value, count: elements))]
        )
    }

    static func global() -> GlobalRound {
        GlobalRound(configuration: .init(digest: F.digest), optimizer: ServerSGD())
    }
}

/// One forged or broken partial for shard 0, sent before the shard's real one.
struct GlobalAttack: Sendable, CustomTestStringConvertible {
    let name: String
    let reason: RejectReason
    let message: Message<Partial>
    var testDescription: String { name }

    typealias G = GlobalFixtures

    static let all: [GlobalAttack] = [
        GlobalAttack(
            name: "a stranger's partial",
            reason: .unauthorizedSender,
            message: G.partial(shard: 0, value: 100, sender: "watch-0")
        ),
        GlobalAttack(
            name: "shard 1's aggregator sending for shard 0",
            reason: .unauthorizedSender,
            message: G.partial(shard: 0, sender: "region-watch-1")
        ),
        GlobalAttack(name: "wrong length", reason: .shapeMismatch, message: G.partial(shard: 0, elements: 5)),
        GlobalAttack(
            name: "2^62 contributors",
            reason: .overflow,
            message: G.partial(shard: 0, contributors: 1 << 62)
        ),
        GlobalAttack(
            name: "contributors disagree with members",
            reason: .malformedHeader,
            message: G.partial(shard: 0, contributors: 2)
        ),
        GlobalAttack(
            name: "members outside the assignment",
            reason: .notInCohort,
            message: G.partial(shard: 0, members: ["watch-0", "watch-9"])
        ),
        GlobalAttack(
            name: "the same member twice",
            reason: .malformedHeader,
            message: G.partial(shard: 0, members: ["watch-0", "watch-0"])
        ),
        GlobalAttack(
            name: "a sum of 3.4e38 on top of another",
            reason: .overflow,
            message: G.partial(shard: 0, value: 3.4e38)
        ),
    ]
}

struct GlobalRoundTests {
    typealias F = ShardFixtures
    typealias G = GlobalFixtures

    /// Every attack is one row: the partial is refused, the shard's slot stays free, and the
    /// shard's real partial is then combined.
    @Test(arguments: GlobalAttack.all)
    func aRefusedPartialDoesNotTakeTheShardsSlot(_ attack: GlobalAttack) throws {
        var global = G.global()
        var generator = SeededGenerator(seed: 1)
        _ = global.roundOpened(G.open(), now: 0, using: &generator)
        let first = global.partialReceived(
            G.partial(shard: 1, value: attack.reason == .overflow ? 3.4e38 : 0.3),
            from: .init(claimed: "region-watch-1"),
            byteCount: 10,
            now: 1,
            using: &generator
        )
        #expect(first.rejections.isEmpty)
        let refused = global.partialReceived(
            attack.message,
            from: .init(claimed: attack.message.sender),
            byteCount: 10,
            now: 1,
            using: &generator
        )
        #expect(refused.rejections == [attack.reason])
        global._checkInvariants()
        let real = global.partialReceived(
            G.partial(shard: 0, value: attack.reason == .overflow ? -1 : 0.3),
            from: .init(claimed: "region-watch-0"),
            byteCount: 10,
            now: 2,
            using: &generator
        )
        #expect(real.rejections.isEmpty)
        let candidate = try #require(real.candidate)
        #expect(candidate.body.contributors == 6)
        #expect(candidate.body.shardsReported.sorted() == ["watch/0", "watch/1"])
        #expect(Set(candidate.body.contributorIds ?? []) == Set(G.shard0 + G.shard1))
        #expect(candidate.body.rejected == [attack.reason.rawValue: 1])
    }

    @Test func aSecondPartialFromTheSameShardIsADuplicate() {
        var global = G.global()
        var generator = SeededGenerator(seed: 1)
        _ = global.roundOpened(G.open(), now: 0, using: &generator)
        let identity = PeerIdentity(claimed: "region-watch-0")
        #expect(
            global.partialReceived(G.partial(shard: 0), from: identity, byteCount: 1, now: 1, using: &generator)
                .rejections.isEmpty
        )
        #expect(
            global.partialReceived(G.partial(shard: 0), from: identity, byteCount: 1, now: 1, using: &generator)
                .rejections == [.duplicate]
        )
        let stranger = G.partial(shard: 2, sender: "region-watch-2")
        #expect(
            global.partialReceived(
                stranger,
                from: .init(claimed: "region-watch-2"),
                byteCount: 1,
                now: 1,
                using: &generator
            ).rejections
                == [.unknownSender]
        )
    }

    /// Under central DP the candidate divides by the fixed expected cohort, carries the noise
    /// DPFedAvgNoise says (z·C), and reports no per-device metrics.
    @Test func centralDPDividesByTheFixedDenominatorAndAddsNoiseOnce() throws {
        var global = G.global()
        var generator = SeededGenerator(seed: 7)
        let privacy = F.privacy(.central, noise: 0.5, cohort: 10)
        _ = global.roundOpened(G.open(privacy: privacy), now: 0, using: &generator)
        _ = global.partialReceived(
            G.partial(shard: 0),
            from: .init(claimed: "region-watch-0"),
            byteCount: 1,
            now: 1,
            using: &generator
        )
        let actions = global.timerFired(now: F.deadline + 1_000, using: &generator)
        let candidate = try #require(actions.candidate)
        #expect(candidate.body.denominator == 10)
        #expect(candidate.body.noiseStd == 0.5 * F.clipNorm)
        #expect(candidate.body.effectiveNoiseMultiplier == 0.5)
        #expect(candidate.body.shardsMissing == ["watch/1"])
        #expect(candidate.body.modelVersion == F.modelVersion + 1)
        #expect(candidate.body.contributorIds == G.shard0)
        let weights = try #require(candidate.tensors.first).floats()
        // 0.3 / 10 plus N(0, 0.5²)/10 per coordinate: within 0.3 + 6σ/10 of zero.
        #expect(weights.allSatisfy { abs($0) < 0.03 + 0.3 })
        #expect(weights != [Float](repeating: 0.03, count: F.parameters), "no noise was added")
    }

    /// Without DP the sum is divided by the weight sum: the example-weighted mean.
    @Test func withoutDPTheWeightSumIsTheDenominator() throws {
        var global = G.global()
        var generator = SeededGenerator(seed: 1)
        _ = global.roundOpened(G.open(), now: 0, using: &generator)
        _ = global.partialReceived(
            G.partial(shard: 0),
            from: .init(claimed: "region-watch-0"),
            byteCount: 1,
            now: 1,
            using: &generator
        )
        let actions = global.partialReceived(
            G.partial(shard: 1),
            from: .init(claimed: "region-watch-1"),
            byteCount: 1,
            now: 1,
            using: &generator
        )
        let candidate = try #require(actions.candidate)
        #expect(candidate.body.denominator == 6)
        #expect(try #require(candidate.tensors.first).floats().allSatisfy { abs($0 - 0.1) < 1e-6 })
        #expect(candidate.body.modelDigest == F.digest(try #require(candidate.tensors.first).bytes))
    }

    /// Partials for a round not yet announced are bounded in bytes (`bufferFull` past it) and
    /// combined when the round opens.
    @Test func earlyPartialsAreBoundedInBytes() {
        var global = GlobalRound(
            configuration: {
                var configuration = GlobalRound.Configuration(digest: F.digest)
                configuration.earlyBufferBytes = 1_000
                return configuration
            }(),
            optimizer: ServerSGD()
        )
        var generator = SeededGenerator(seed: 1)
        let identity = PeerIdentity(claimed: "region-watch-0")
        #expect(
            global.partialReceived(G.partial(shard: 0), from: identity, byteCount: 800, now: 0, using: &generator)
                .rejections.isEmpty
        )
        #expect(
            global.partialReceived(
                G.partial(shard: 1),
                from: .init(claimed: "region-watch-1"),
                byteCount: 800,
                now: 0,
                using: &generator
            ).rejections == [.bufferFull]
        )
        let opened = global.roundOpened(G.open(), now: 1, using: &generator)
        #expect(opened.contains(.note(.partialAccepted(shard: "watch/0", roundId: F.roundId, contributors: 3))))
        #expect(global.earlyBufferedBytes == 0)
    }
}

extension Array where Element == GlobalAction {
    var rejections: [RejectReason] {
        compactMap { if case .reject(let reason, _, _, _) = $0 { reason } else { nil } }
    }

    var candidate: (body: ModelCandidate, tensors: [Tensor])? {
        for action in self { if case .sendCandidate(let body, let tensors) = action { return (body, tensors) } }
        return nil
    }
}
