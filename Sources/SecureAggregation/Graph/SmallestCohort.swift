extension SecAggConfiguration {
    /// The fewest devices a shard's round can run with at these rates, such that every larger
    /// cohort up to `upTo` can run too (nil if `upTo` itself cannot). A coordinator plans
    /// shards no smaller; `fedpulse privacy secagg` prints it.
    ///
    /// Why "every larger one": at high rates the graph is not monotone in the cohort. An even
    /// cohort too small for a sparse graph falls back to degree n − 2, whose expected live
    /// neighbours can miss the threshold that n − 1 (degree n − 1) still meets (dropout and
    /// corrupt 0.35: 5 devices have a graph, 6 do not), so a coordinator folding groups up to
    /// the first size with a graph would still plan doomed shards of the sizes in between.
    public static func smallestCohort(
        bitsPerValue: Int,
        threatModel: SecAggThreatModel,
        upTo limit: Int = 256
    ) -> Int? {
        var smallest: Int?
        for cohort in stride(from: max(2, limit), through: 2, by: -1) {
            let configuration = try? forShard(
                cohortSize: cohort,
                bitsPerValue: bitsPerValue,
                vectorLength: 1,
                threatModel: threatModel
            )
            guard configuration != nil else { break }
            smallest = cohort
        }
        return smallest
    }
}
