import Testing
import Wire

@testable import Rounds

/// One forged update a rogue sends for cohort member `watch-0` before the device's own update.
struct ShardAttack: Sendable, CustomTestStringConvertible {
    let name: String
    let reason: RejectReason
    let message: Message<Update>
    var identity: PeerIdentity
    var placement: NoisePlacement = .central

    init(
        _ name: String,
        _ reason: RejectReason,
        _ message: Message<Update>,
        as sender: String? = nil,
        placement: NoisePlacement = .central
    ) {
        self.name = name
        self.reason = reason
        self.message = message
        self.identity = PeerIdentity(claimed: sender ?? message.sender)
        self.placement = placement
    }

    var testDescription: String { name }

    typealias F = ShardFixtures

    static let all: [ShardAttack] = [
        ShardAttack("norm 1000·C under central DP", .normTooLarge, F.update("watch-0", value: 500)),
        ShardAttack(
            "norm 1000·C under distributed DP",
            .normTooLarge,
            F.update("watch-0", value: 500),
            placement: .distributed
        ),
        ShardAttack(
            "wrong digest",
            .digestMismatch,
            {
                var forged = F.update("watch-0")
                forged.tensors[0].sha256 = F.digest([1, 2, 3])
                return forged
            }()
        ),
        ShardAttack("shard 7", .wrongShard, F.update("watch-0", shard: 7)),
        ShardAttack("device class phone", .wrongDeviceClass, F.update("watch-0", deviceClass: .phone)),
        ShardAttack("previous round", .staleRound, F.update("watch-0", roundId: F.roundId - 1)),
        ShardAttack("other model version", .wrongModelVersion, F.update("watch-0", modelVersion: F.modelVersion + 1)),
        ShardAttack("another sender's name", .unauthorizedSender, F.update("watch-0"), as: "watch-1"),
        ShardAttack("one element too many", .shapeMismatch, F.update("watch-0", elements: F.parameters + 1)),
        ShardAttack("no delta tensor", .frameCountMismatch, Message(sender: "watch-0", body: F.update("watch-0").body)),
        ShardAttack(
            "a decline with a tensor",
            .frameCountMismatch,
            {
                var forged = F.decline("watch-0")
                forged.tensors = F.update("watch-0").tensors
                return forged
            }()
        ),
        ShardAttack(
            "examples 2^62 twice over",
            .overflow,
            F.update("watch-0", metrics: MetricsSummary(examples: 1 << 62, loss: 1, accuracy: 0.5)),
            placement: .off
        ),
        ShardAttack(
            "delta of 3.4e38 weighted 10",
            .overflow,
            F.update("watch-0", value: 3.4e38, weight: 10),
            placement: .off
        ),
    ]
}

struct ShardRoundTests {
    typealias F = ShardFixtures

    /// Every attack is one row: the forgery is refused with its reason, the device's real update
    /// then gets in (a refused update never takes the slot), and the partial counts the refusal.
    @Test(arguments: ShardAttack.all)
    func aForgedUpdateIsRefusedAndTheDevicesRealUpdateIsStillAccepted(_ attack: ShardAttack) throws {
        var shard = F.shard()
        _ = shard.roundOpened(F.open(privacy: F.privacy(attack.placement)), now: 0)
        if attack.reason == .overflow {
            // Something already summed, so the overflow is a sum's, not a lone value's.
            let primed = shard.updateReceived(
                F.update("watch-1", metrics: MetricsSummary(examples: 1 << 62, loss: 1, accuracy: 1)),
                from: .init(claimed: "watch-1"),
                byteCount: 100,
                now: 1
            )
            #expect(primed.accepted == ["watch-1"])
        }
        let refused = shard.updateReceived(attack.message, from: attack.identity, byteCount: 100, now: 1)
        #expect(refused.rejections == [attack.reason])
        shard._checkInvariants()

        let real = shard.updateReceived(F.update("watch-0"), from: .init(claimed: "watch-0"), byteCount: 100, now: 2)
        #expect(real.rejections.isEmpty)
        #expect(real.accepted == ["watch-0"])
        var actions = real
        for worker in ["watch-1", "watch-2"] where attack.reason != .overflow || worker != "watch-1" {
            actions = shard.updateReceived(F.update(worker), from: .init(claimed: worker), byteCount: 100, now: 3)
        }
        shard._checkInvariants()
        let partial = try #require(actions.partial)
        #expect(partial.body.contributors == 3)
        #expect(partial.body.rejected == [attack.reason.rawValue: 1])
        #expect(partial.body.clippedCount == (attack.reason == .normTooLarge ? 1 : 0))
    }

    /// The shard's own norm decides: an update that claims `norm: 0, clipped: false` is refused
    /// above the bound and taken just under it.
    @Test func theNormIsRecomputedAndTheToleranceIsTight() {
        var shard = F.shard()
        _ = shard.roundOpened(F.open(privacy: F.privacy(.central)), now: 0)
        // ‖(v, v, v, v)‖ = 2v; the bound is C(1 + 1e-5) + 1e-6.
        let above = shard.updateReceived(
            F.update("watch-0", value: 0.5 * (1 + 1e-4)),
            from: .init(claimed: "watch-0"),
            byteCount: 1,
            now: 1
        )
        #expect(above.rejections == [.normTooLarge])
        let atC = shard.updateReceived(
            F.update("watch-0", value: 0.5),
            from: .init(claimed: "watch-0"),
            byteCount: 1,
            now: 1
        )
        #expect(atC.accepted == ["watch-0"])
    }

    /// Under DP every client weighs 1 and per-device metrics stay out of the partial; without DP
    /// the example weights and metrics are kept.
    @Test(arguments: [NoisePlacement.central, .off])
    func dpForcesWeightOneAndDropsMetrics(_ placement: NoisePlacement) throws {
        var shard = F.shard()
        _ = shard.roundOpened(F.open(privacy: F.privacy(placement)), now: 0)
        var actions: [ShardAction] = []
        for (index, worker) in F.members.enumerated() {
            let metrics = MetricsSummary(examples: 10, loss: 0.5, accuracy: 0.5)
            actions = shard.updateReceived(
                F.update(worker, value: 0.1, weight: Double(index + 1) * 10, metrics: metrics),
                from: .init(claimed: worker),
                byteCount: 10,
                now: 1
            )
        }
        let partial = try #require(actions.partial)
        let sum = try #require(partial.tensors.first).floats()
        if placement == .off {
            #expect(partial.body.weightSum == 60)
            #expect(partial.body.metrics == MetricsSummary(examples: 30, loss: 0.5, accuracy: 0.5))
            #expect(sum.allSatisfy { abs($0 - 6) < 1e-5 })
        } else {
            #expect(partial.body.weightSum == 3)
            #expect(partial.body.metrics == nil)
            #expect(sum.allSatisfy { abs($0 - 0.3) < 1e-6 })
        }
        #expect(partial.body.bytesUp == 30)
    }

    /// Two deltas of 3.4e38: the second would make the sum infinite, so it is refused before it
    /// touches the sum, and the honest updates already summed are kept.
    @Test func aSumThatWouldBecomeInfiniteIsRefusedBeforeItIsAdded() throws {
        var shard = F.shard()
        _ = shard.roundOpened(F.open(privacy: F.privacy(.off)), now: 0)
        #expect(
            shard.updateReceived(
                F.update("watch-0", value: 3.4e38),
                from: .init(claimed: "watch-0"),
                byteCount: 1,
                now: 1
            ).accepted == ["watch-0"]
        )
        #expect(
            shard.updateReceived(
                F.update("watch-1", value: 3.4e38),
                from: .init(claimed: "watch-1"),
                byteCount: 1,
                now: 1
            ).rejections == [.overflow]
        )
        #expect(
            shard.updateReceived(F.update("watch-1", value: -1), from: .init(claimed: "watch-1"), byteCount: 1, now: 1)
                .accepted == ["watch-1"]
        )
        let partial = try #require(shard.timerFired(now: F.deadline).partial)
        #expect(partial.body.contributors == 2)
        #expect(try #require(partial.tensors.first).floats() == [Float](repeating: 3.4e38 - 1, count: F.parameters))
    }

    /// Poisson selection: every population member answers once, with an update or a decline;
    /// a decline adds nothing, and the partial goes as soon as the last member answered.
    @Test func declinesCountAsAnswersAndTheShardClosesEarly() throws {
        var shard = F.shard()
        _ = shard.roundOpened(F.open(selection: .poisson), now: 0)
        #expect(
            shard.updateReceived(F.decline("watch-0"), from: .init(claimed: "watch-0"), byteCount: 1, now: 1).partial
                == nil
        )
        #expect(
            shard.updateReceived(F.update("watch-1"), from: .init(claimed: "watch-1"), byteCount: 1, now: 1).partial
                == nil
        )
        #expect(
            shard.updateReceived(F.update("watch-0"), from: .init(claimed: "watch-0"), byteCount: 1, now: 1).rejections
                == [.duplicate]
        )
        let last = shard.updateReceived(F.decline("watch-2"), from: .init(claimed: "watch-2"), byteCount: 1, now: 2)
        shard._checkInvariants()
        let partial = try #require(last.partial)
        #expect(partial.body.contributors == 1 && partial.body.members == ["watch-1"])
        #expect(shard.nextDeadline == nil)
        #expect(
            shard.updateReceived(F.update("watch-2"), from: .init(claimed: "watch-2"), byteCount: 1, now: 3).rejections
                == [.roundClosed]
        )
    }

    /// At the deadline the partial goes with whoever answered; before it, nothing.
    @Test func theDeadlineClosesTheRoundWithTheMissingLeftOut() throws {
        var shard = F.shard()
        _ = shard.roundOpened(F.open(), now: 0)
        _ = shard.updateReceived(F.update("watch-0"), from: .init(claimed: "watch-0"), byteCount: 1, now: 1)
        shard.malformedReceived(WireError(code: .nonFinite, detail: "NaN"))
        #expect(shard.timerFired(now: F.deadline - 1).isEmpty)
        let partial = try #require(shard.timerFired(now: F.deadline).partial)
        #expect(partial.body.members == ["watch-0"])
        #expect(partial.body.rejected == ["nonFinite": 1])
        #expect(shard.timerFired(now: F.deadline + 1).isEmpty)
    }

    /// Updates for a round not yet announced wait, bounded in bytes: past the bound they are
    /// refused `bufferFull`; the ones kept are summed when their round opens.
    @Test func earlyUpdatesAreBoundedInBytesAndAdmittedWhenTheirRoundOpens() throws {
        var shard = F.shard(earlyBytes: 1_000)
        #expect(
            shard.updateReceived(F.update("watch-0"), from: .init(claimed: "watch-0"), byteCount: 600, now: 0)
                .rejections.isEmpty
        )
        #expect(
            shard.updateReceived(F.update("watch-1"), from: .init(claimed: "watch-1"), byteCount: 600, now: 0)
                .rejections == [.bufferFull]
        )
        #expect(
            shard.updateReceived(F.update("watch-1"), from: .init(claimed: "watch-1"), byteCount: .max, now: 0)
                .rejections == [.bufferFull]
        )
        #expect(shard.earlyBufferedBytes == 600)
        shard._checkInvariants()
        let opened = shard.roundOpened(F.open(), now: 1)
        #expect(opened.accepted == ["watch-0"])
        #expect(opened.contains(.connectUpward(endpoint: "tcp://127.0.0.1:7200", replacing: nil)))
        #expect(shard.earlyBufferedBytes == 0)
    }

    /// A round that does not name this shard, and a re-published round, change nothing.
    @Test func aRoundForAnotherShardOrARepublishIsIgnored() {
        var shard = F.shard()
        let other = [ShardAssignment(region: .watch, shard: 1, endpoint: "tcp://127.0.0.1:7101", members: F.members)]
        #expect(shard.roundOpened(F.open(shards: other), now: 0).isEmpty)
        #expect(shard.nextDeadline == nil)
        #expect(!shard.roundOpened(F.open(), now: 0).isEmpty)
        #expect(shard.roundOpened(F.open(), now: 1).isEmpty)
        #expect(shard.nextDeadline == F.deadline)
    }
}
