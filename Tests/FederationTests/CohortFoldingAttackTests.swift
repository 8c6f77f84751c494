import Learning
import Testing

@testable import Federation

/// The secure-round folding (`CohortPlanner.consolidating`) from the attacker's side: a device
/// checking in under many ids to shape the groups, on random plans and on a targeted victim.
struct CohortFoldingAttackTests {
    static func shard(_ region: String, _ index: Int) -> LiveShard {
        LiveShard(region: region, shard: index, endpoint: "tcp://\(region):\(index)")
    }

    /// Which output group each member ended in.
    static func groupOf(_ plan: CohortPlan) -> [String: String] {
        var owner: [String: String] = [:]
        for entry in plan.shards { for member in entry.members { owner[member] = entry.shard.name } }
        return owner
    }

    /// What folding may never do, whatever the sizes: lose or duplicate a member, move one to
    /// another class, split a rendezvous group (so no one is separated from the devices it was
    /// hashed with), leave a group below the minimum while its class has another, or depend on
    /// the order the plan lists its shards in.
    @Test func foldingKeepsEveryGroupWholeAndNoneBelowTheMinimum() {
        var rng = SeededGenerator(seed: 31)
        for trial in 0..<400 {
            let minimum = 2 + Int(rng.next() % 9)
            var entries: [(shard: LiveShard, members: [String])] = []
            for region in ["watch", "phone", "ring"] {
                let count = 1 + Int(rng.next() % 6)
                for index in 0..<count {
                    let size = Int(rng.next() % 12)
                    entries.append((Self.shard(region, index), (0..<size).map { "\(region)-\(index)-\($0)" }))
                }
            }
            let plan = CohortPlan(shards: entries, unassignable: [])
            let folded = CohortPlanner.consolidating(plan, minimumMembers: minimum)
            let owner = Self.groupOf(folded)
            let all = entries.flatMap(\.members)
            #expect(folded.shards.flatMap(\.members).sorted() == all.sorted(), "trial \(trial)")
            for entry in entries {
                let destinations = Set(entry.members.compactMap { owner[$0] })
                #expect(destinations.count <= 1, "trial \(trial): \(entry.shard.name) was split")
                #expect(destinations.allSatisfy { $0.hasPrefix(entry.shard.region + "/") })
            }
            for entry in folded.shards where entry.members.count < minimum {
                let siblings = folded.shards.filter { $0.shard.region == entry.shard.region }
                #expect(
                    siblings.count == 1,
                    "trial \(trial): \(entry.shard.name) has \(entry.members.count) < \(minimum)"
                )
            }
            var shuffled = entries
            shuffled.shuffle(using: &rng)
            #expect(
                CohortPlanner.consolidating(CohortPlan(shards: shuffled, unassignable: []), minimumMembers: minimum)
                    == folded
            )
        }
    }

    /// An attacker grinds ids so that each of a class's shards but the victim's gets exactly
    /// the sybils it wants, then checks in under them, trying to fold the victim's small group
    /// into a shard it fills. The victim's rendezvous group-mates always travel with it, and
    /// the group it ends in never has fewer honest members than the one it was hashed into.
    @Test func sybilsCannotSplitAVictimFromItsGroupOrShrinkIt() {
        let shards = (0..<4).map { Self.shard("watch", $0) }
        let honest = (0..<14).map { "watch-honest-\($0)" } + ["watch-victim"]
        let victimShard = CohortPlanner.assign("watch-victim", among: shards)?.shard ?? -1
        var byShard: [Int: [String]] = [:]
        var counter = 0
        while byShard.values.map(\.count).min() ?? 0 < 12 || byShard.count < shards.count {
            let id = "sybil-\(counter)"
            counter += 1
            if let target = CohortPlanner.assign(id, among: shards)?.shard { byShard[target, default: []].append(id) }
        }
        for sizes in [[0, 1, 2, 3], [3, 2, 1, 0], [0, 0, 0, 12], [1, 12, 1, 12], [2, 2, 2, 2]] {
            let sybils = shards.indices.flatMap { index in
                index == victimShard ? [] : Array((byShard[index] ?? []).prefix(sizes[index]))
            }
            let candidates = (honest + sybils).map { Candidate(workerId: $0, deviceClass: "watch", eligible: true) }
            let plan = CohortPlanner.plan(candidates: candidates, shards: shards, sampling: .all, seed: 1, roundId: 1)
            let folded = CohortPlanner.consolidating(plan, minimumMembers: 4)
            let before = plan.shards.first { $0.members.contains("watch-victim") }?.members ?? []
            let after = folded.shards.first { $0.members.contains("watch-victim") }?.members ?? []
            #expect(Set(before).isSubset(of: Set(after)), "sybils \(sizes): the victim's group was split")
            let honestAfter = after.filter { !$0.hasPrefix("sybil-") }.count
            #expect(honestAfter >= before.filter { !$0.hasPrefix("sybil-") }.count, "sybils \(sizes)")
            #expect(folded.memberCount == candidates.count)
        }
    }

    /// A hostile shard (an enrolled shard key an attacker holds) with sybil devices (one edge
    /// key may check in any number of `<edge>/…` ids) sizes its own group so that a victim's
    /// below-minimum group folds into it: the merged group is the victim's plus sybils, and
    /// the shard, subtracting the sybils' inputs from the sum, has the victim's update. Where
    /// a small group goes must not be the attacker's choice: a hostile shard gets the victim
    /// only where an honest one in its place would have.
    @Test func aHostileShardCannotSizeItsGroupToCaptureASmallOne() {
        let shards = (0..<5).map { Self.shard("watch", $0) }
        let honest = (0..<5).map { index in (0..<10).map { "watch-\(index)-\($0)" } }
        func landing(victim: Int, hostile: Int?, sybils: Int) -> Int? {
            let entries = shards.indices.map { index in
                let members =
                    index == victim
                    ? ["watch-victim"] : index == hostile ? (0..<sybils).map { "sybil-\($0)" } : honest[index]
                return (shard: shards[index], members: members)
            }
            let folded = CohortPlanner.consolidating(CohortPlan(shards: entries, unassignable: []), minimumMembers: 4)
            return folded.shards.first { $0.members.contains("watch-victim") }?.shard.shard
        }
        for victim in shards.indices {
            let honestLanding = landing(victim: victim, hostile: nil, sybils: 0)
            #expect(honestLanding != nil && honestLanding != victim)
            var captured: Set<Int> = []
            for hostile in shards.indices where hostile != victim {
                for sybils in 1...6 where landing(victim: victim, hostile: hostile, sybils: sybils) == hostile {
                    captured.insert(hostile)
                }
            }
            let steered = captured.subtracting([honestLanding ?? -1])
            #expect(steered.isEmpty, "the victim of watch/\(victim) could be pulled into \(steered.sorted())")
        }
    }
}
