import Testing
import Wire

@testable import Federation

struct CohortPlannerTests {
    let shards = [
        LiveShard(region: "watch", shard: 0, endpoint: "tcp://a:1"),
        LiveShard(region: "watch", shard: 1, endpoint: "tcp://a:2"),
        LiveShard(region: "phone", shard: 0, endpoint: "tcp://b:1"),
    ]

    func candidates(_ count: Int, deviceClass: String = "watch") -> [Candidate] {
        (0..<count).map { Candidate(workerId: "\(deviceClass)-\($0)", deviceClass: deviceClass, eligible: true) }
    }

    @Test func everyMemberGoesToAShardOfItsOwnClass() {
        let plan = CohortPlanner.plan(
            candidates: candidates(20) + candidates(5, deviceClass: "phone"),
            shards: shards,
            sampling: .fixedSize(25),
            seed: 1,
            roundId: 1
        )
        #expect(plan.memberCount == 25)
        for (shard, members) in plan.shards {
            #expect(members.allSatisfy { $0.hasPrefix(shard.region + "-") })
        }
        let watchShards = plan.shards.filter { $0.shard.region == "watch" }
        #expect(watchShards.count == 2)
        #expect(watchShards.allSatisfy { !$0.members.isEmpty })
    }

    /// With three shards, a hash modulo the shard count moves about two thirds of the survivors'
    /// workers when one shard dies; rendezvous hashing moves only the dead shard's.
    @Test func assignmentIsStableAndOnlyADeadShardsWorkersMove() {
        let three = (0..<3).map { LiveShard(region: "watch", shard: $0, endpoint: "tcp://a:\($0 + 1)") }
        let workers = candidates(60)
        let before = CohortPlanner.plan(candidates: workers, shards: three, sampling: .all, seed: 3, roundId: 4)
        let again = CohortPlanner.plan(candidates: workers, shards: three, sampling: .all, seed: 3, roundId: 4)
        #expect(before == again)
        let shardOf = { (plan: CohortPlan) in
            Dictionary(
                uniqueKeysWithValues: plan.shards.flatMap { entry in entry.members.map { ($0, entry.shard.shard) } }
            )
        }
        let assignedBefore = shardOf(before)
        #expect(Set(assignedBefore.values) == [0, 1, 2], "every shard gets workers")
        let after = shardOf(
            CohortPlanner.plan(
                candidates: workers,
                shards: three.filter { $0.shard != 1 },
                sampling: .all,
                seed: 3,
                roundId: 4
            )
        )
        #expect(after.count == workers.count)
        let moved = workers.map(\.workerId).filter { assignedBefore[$0] != 1 && after[$0] != assignedBefore[$0] }
        #expect(moved.isEmpty, "workers of live shards moved: \(moved)")
        #expect(workers.allSatisfy { after[$0.workerId] != 1 })
    }

    @Test func workersWithoutALiveShardAreLeftOutAndNamed() {
        let plan = CohortPlanner.plan(
            candidates: candidates(3, deviceClass: "tablet"),
            shards: shards,
            sampling: .fixedSize(3),
            seed: 1,
            roundId: 1
        )
        #expect(plan.memberCount == 0)
        #expect(plan.unassignable.sorted() == ["tablet-0", "tablet-1", "tablet-2"])
    }

    @Test func poissonSamplingFollowsTheRateAndReplaysBySeed() {
        let population = candidates(2_000)
        let plan = CohortPlanner.plan(
            candidates: population,
            shards: shards,
            sampling: .poisson(rate: 0.25),
            seed: 9,
            roundId: 2
        )
        #expect((400...600).contains(plan.memberCount))
        let replay = CohortPlanner.plan(
            candidates: population,
            shards: shards,
            sampling: .poisson(rate: 0.25),
            seed: 9,
            roundId: 2
        )
        #expect(plan == replay)
        let nextRound = CohortPlanner.plan(
            candidates: population,
            shards: shards,
            sampling: .poisson(rate: 0.25),
            seed: 9,
            roundId: 3
        )
        #expect(plan != nextRound)
    }

    @Test func ineligibleWorkersAreNeverSelected() {
        let mixed = candidates(10) + [Candidate(workerId: "watch-x", deviceClass: "watch", eligible: false)]
        let plan = CohortPlanner.plan(candidates: mixed, shards: shards, sampling: .fixedSize(11), seed: 1, roundId: 1)
        #expect(!plan.shards.flatMap(\.members).contains("watch-x"))
        #expect(plan.memberCount == 10)
    }

    /// Shard groups below the minimum fold into the next smallest of their class until each
    /// reaches it; every member stays in the round, a class with one group is left alone.
    @Test func groupsTooSmallForSecureAggregationFoldIntoTheirClasssOthers() {
        func shard(_ region: String, _ index: Int) -> LiveShard {
            LiveShard(region: region, shard: index, endpoint: "tcp://\(region):\(index)")
        }
        func ids(_ prefix: String, _ count: Int) -> [String] { (0..<count).map { "\(prefix)-\($0)" } }
        let plan = CohortPlan(
            shards: [
                (shard("watch", 0), ids("w0", 2)), (shard("watch", 1), ids("w1", 6)), (shard("watch", 2), ids("w2", 2)),
                (shard("phone", 0), ids("p0", 5)), (shard("phone", 1), ids("p1", 5)),
                (shard("tablet", 0), ids("t0", 3)),
            ],
            unassignable: ["x"]
        )
        let folded = CohortPlanner.consolidating(plan, minimumMembers: 5)
        let sizes = folded.shards.map { "\($0.shard.name)=\($0.members.count)" }
        #expect(sizes == ["phone/0=5", "phone/1=5", "tablet/0=3", "watch/1=10"])
        #expect(folded.memberCount == plan.memberCount)
        #expect(Set(folded.shards.flatMap(\.members)) == Set(plan.shards.flatMap(\.members)))
        #expect(folded.unassignable == ["x"])
        #expect(CohortPlanner.consolidating(plan, minimumMembers: 1) == plan)
    }
}
