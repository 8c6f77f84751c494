import Learning

/// A worker the coordinator may select: checked in recently and described by its check-in.
public struct Candidate: Sendable, Hashable {
    public var workerId: String
    public var deviceClass: String
    public var eligible: Bool

    public init(workerId: String, deviceClass: String, eligible: Bool) {
        self.workerId = workerId
        self.deviceClass = deviceClass
        self.eligible = eligible
    }
}

/// A live regional shard: where its members PUSH their updates.
public struct LiveShard: Sendable, Hashable {
    public var region: String
    public var shard: Int
    public var endpoint: String

    public init(region: String, shard: Int, endpoint: String) {
        self.region = region
        self.shard = shard
        self.endpoint = endpoint
    }

    /// `watch/0`: the name logs, partials and the global aggregator use for a shard.
    public var name: String { "\(region)/\(shard)" }
}

/// How a round's cohort is drawn.
public enum CohortSampling: Sendable, Equatable {
    /// Each eligible worker joins independently with probability `rate` (Poisson sampling, which
    /// the DP accountant's amplification-by-sampling assumes).
    case poisson(rate: Double)
    /// Exactly `size` eligible workers (or all, if fewer), drawn uniformly without replacement.
    case fixedSize(Int)
    /// Every eligible worker: the population a self-sampling (DP) round announces.
    case all
}

/// One round's plan: the members, and which shard each one reports to.
public struct CohortPlan: Sendable, Equatable {
    public var shards: [(shard: LiveShard, members: [String])]
    /// Eligible workers of a class with no live shard: left out of this round, and logged.
    public var unassignable: [String]

    public var memberCount: Int { shards.reduce(0) { $0 + $1.members.count } }

    public static func == (lhs: CohortPlan, rhs: CohortPlan) -> Bool {
        lhs.unassignable == rhs.unassignable && lhs.shards.count == rhs.shards.count
            && zip(lhs.shards, rhs.shards).allSatisfy { $0.shard == $1.shard && $0.members == $1.members }
    }
}

/// Picks a round's cohort and assigns each member to a shard of its device class.
///
/// The assignment is rendezvous (highest random weight) hashing of the worker id over the live
/// shards of its class: each worker goes to the shard with the highest hash of (worker, shard),
/// so every role derives the same answer, and when a shard dies only its own workers move (a
/// hash modulo the shard count would reshuffle the survivors' workers too). Listed sampling is
/// seeded by (run seed, round id) so a round without DP can be replayed and audited.
public enum CohortPlanner {
    public static func plan(
        candidates: [Candidate],
        shards: [LiveShard],
        sampling: CohortSampling,
        seed: UInt64,
        roundId: Int
    ) -> CohortPlan {
        var generator = SeededGenerator(seed: seed, stream: UInt64(truncatingIfNeeded: roundId))
        let eligible = candidates.filter(\.eligible).sorted { $0.workerId < $1.workerId }
        let selected: [Candidate]
        switch sampling {
        case .poisson(let rate):
            selected = eligible.filter { _ in Double(generator.next() >> 11) / Double(1 << 53) < rate }
        case .fixedSize(let size):
            var pool = eligible
            for index in pool.indices.dropLast() {
                let pick = index + Int(generator.next() % UInt64(pool.count - index))
                pool.swapAt(index, pick)
            }
            selected = Array(pool.prefix(max(0, size))).sorted { $0.workerId < $1.workerId }
        case .all:
            selected = eligible
        }
        let byRegion = Dictionary(grouping: shards, by: \.region)
        var members: [LiveShard: [String]] = [:]
        var unassignable: [String] = []
        for candidate in selected {
            guard let shard = assign(candidate.workerId, among: byRegion[candidate.deviceClass] ?? []) else {
                unassignable.append(candidate.workerId)
                continue
            }
            members[shard, default: []].append(candidate.workerId)
        }
        let ordered = members.keys.sorted { ($0.region, $0.shard) < ($1.region, $1.shard) }
        return CohortPlan(shards: ordered.map { ($0, members[$0] ?? []) }, unassignable: unassignable)
    }

    /// The same plan with every shard group of a class smaller than `minimumMembers` folded into
    /// another group of that class, smallest first, until each group reaches the minimum or the
    /// class has one group left. A group goes to the shard its own shard's name hashes to
    /// among the class's remaining shards (rendezvous, as a worker is assigned).
    ///
    /// Why: a secure-aggregation shard needs a neighbour graph, and below a few devices (4 at
    /// the default rates) there is none, so rendezvous hashing that hands a shard 3 members
    /// would lose those 3 updates every round. Folding keeps every member in the round; a class
    /// whose whole cohort is below the minimum stays one group, and only its shard fails.
    /// Why by hash and not into the next smallest group: sizes are what sybil check-ins set. A
    /// hostile shard that filled its group with just enough sybils to be the next smallest
    /// would receive any small group, and with the sybils' inputs known, the sum of the SecAgg
    /// round it runs is that group's (a lone victim's update). By hash, a small group lands in
    /// a hostile shard only where it would have if that shard were honest.
    public static func consolidating(_ plan: CohortPlan, minimumMembers: Int) -> CohortPlan {
        guard minimumMembers > 1 else { return plan }
        let bySize: ((shard: LiveShard, members: [String]), (shard: LiveShard, members: [String])) -> Bool = {
            ($0.members.count, $0.shard.shard) < ($1.members.count, $1.shard.shard)
        }
        var result: [(shard: LiveShard, members: [String])] = []
        for groups in Dictionary(grouping: plan.shards, by: { $0.shard.region }).values {
            var open = groups
            while open.count > 1,
                let small = open.indices.filter({ open[$0].members.count < minimumMembers }).min(by: {
                    bySize(open[$0], open[$1])
                })
            {
                let group = open.remove(at: small)
                guard let target = assign(group.shard.name, among: open.map(\.shard)),
                    let index = open.firstIndex(where: { $0.shard == target })
                else {
                    open.append(group)
                    break
                }
                open[index].members = (open[index].members + group.members).sorted()
            }
            result += open
        }
        result.sort { ($0.shard.region, $0.shard.shard) < ($1.shard.region, $1.shard.shard) }
        return CohortPlan(shards: result, unassignable: plan.unassignable)
    }

    /// The shard with the highest rendezvous weight for `workerId`; nil when there is none.
    /// Ties (of 64-bit weights) go to the lower shard index, so the answer never depends on order.
    public static func assign(_ workerId: String, among shards: [LiveShard]) -> LiveShard? {
        var best: (shard: LiveShard, weight: UInt64)?
        for shard in shards {
            let weight = mix(stableHash("\(workerId)\u{0}\(shard.shard)"))
            if let current = best,
                current.weight > weight || (current.weight == weight && current.shard.shard < shard.shard)
            {
                continue
            }
            best = (shard, weight)
        }
        return best?.shard
    }

    /// SplitMix64's finaliser: FNV-1a's low bits are weak, and rendezvous compares whole words.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// FNV-1a over the UTF-8 bytes: stable across processes and Swift versions, unlike `hashValue`.
    public static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
