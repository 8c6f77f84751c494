public import Wire

extension RoundOpen {
    /// Every selected worker, whatever its shard.
    public var allMembers: Set<String> {
        Set(shards.flatMap(\.members))
    }

    /// The members of each shard of `region`, by shard index (shards with no members absent).
    public func members(region: String) -> [Int: Set<String>] {
        var result: [Int: Set<String>] = [:]
        for assignment in shards where assignment.region.rawValue == region && !assignment.members.isEmpty {
            result[assignment.shard, default: []].formUnion(assignment.members)
        }
        return result
    }
}

extension ParticipantCounts {
    /// Contributors of one class (0 when absent).
    public subscript(region: String) -> Int { counts[region] ?? 0 }
}
