import Testing
import Wire

@testable import Rounds

@Suite struct CoordinatorFirstRoundTests {
    /// Every worker has checked in, but the phone shard has not said hello yet: the first round
    /// waits for it (bounded by the same minute as the check-in wait) instead of opening
    /// without the phones, and opens with both classes once it has.
    @Test func theFirstRoundWaitsForAShardOfEveryClassWithWorkers() throws {
        var fixture = try CoordinatorFixture()
        fixture.checkIn(CoordinatorFixture.ids(3))
        fixture.checkIn(CoordinatorFixture.ids(3, prefix: "phone"), deviceClass: .phone)
        fixture.registerTopology()
        #expect(fixture.roundOpen(in: fixture.tick()) == nil)
        #expect(fixture.roundOpen(in: fixture.tick(by: 1_000)) == nil)
        var phoneShard = CoordinatorFixture.shardHello("region-phone-0", endpoint: "tcp://127.0.0.1:7110")
        phoneShard.region = .phone
        _ = fixture.round.helloReceived(phoneShard, from: PeerIdentity(claimed: "region-phone-0"), now: fixture.now)
        let open = try #require(fixture.roundOpen(in: fixture.tick(by: 200)))
        let classes = Set(open.body.shards.filter { !$0.members.isEmpty }.map(\.region))
        #expect(classes == [.watch, .phone])
    }

    /// A class whose shard never comes does not hold training forever: after the minute the
    /// round opens with the classes that are served.
    @Test func aClassWithoutAShardIsLeftOutAfterTheWait() throws {
        var fixture = try CoordinatorFixture()
        fixture.checkIn(CoordinatorFixture.ids(3))
        fixture.checkIn(CoordinatorFixture.ids(3, prefix: "phone"), deviceClass: .phone)
        fixture.registerTopology()
        #expect(fixture.roundOpen(in: fixture.tick()) == nil)
        // Workers and the served shard stay alive (check-ins, hellos) while the minute passes.
        var open: Message<RoundOpen>?
        for _ in 0..<31 where open == nil {
            fixture.now += 2_000
            fixture.checkIn(CoordinatorFixture.ids(3))
            fixture.checkIn(CoordinatorFixture.ids(3, prefix: "phone"), deviceClass: .phone)
            fixture.registerTopology()
            open = fixture.roundOpen(in: fixture.tick())
            if open != nil { #expect(fixture.now - 1_000_000 >= 60_000, "opened before the minute") }
        }
        let opened = try #require(open)
        #expect(Set(opened.body.shards.filter { !$0.members.isEmpty }.map(\.region)) == [.watch])
    }

    /// The smallest shard cohort a secure round is planned with: 4 devices at the default rates
    /// (3 have no graph whose expected live neighbours reach the threshold), and under Skellam
    /// the survivors a shard must count before it may release a sum.
    @Test func theSmallestSecureCohortFollowsTheRatesAndTheSkellamMinimum() {
        let defaults = SecureAggregationSettings(
            valueBits: 16,
            clipNorm: 1,
            dropoutRate: 0.3,
            corruptRate: 0.05,
            stageTimeoutMillis: 1_000
        )
        #expect(CoordinatorRound.smallestSecureCohort(defaults) == 4)
        var calm = defaults
        calm.dropoutRate = 0
        #expect(CoordinatorRound.smallestSecureCohort(calm) < 4)
        var skellam = defaults
        skellam.skellam = SkellamSettings(
            scale: 64,
            deviceVariance: 400,
            dimension: 10,
            valueBits: 14,
            roundingBeta: 0.0001,
            minimumSurvivors: 12
        )
        #expect(CoordinatorRound.smallestSecureCohort(skellam) == 12)
    }
}
