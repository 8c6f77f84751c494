extension SecAggConfiguration {
    /// The fewest devices a shard's round can run with at these rates: the smallest cohort with
    /// a neighbour graph whose expected live neighbours reach the threshold (nil if none up to
    /// `upTo`). A coordinator plans shards no smaller; `fedpulse privacy secagg` prints it.
    public static func smallestCohort(
        bitsPerValue: Int,
        threatModel: SecAggThreatModel,
        upTo limit: Int = 256
    ) -> Int? {
        (2...max(2, limit)).first { cohort in
            (try? forShard(cohortSize: cohort, bitsPerValue: bitsPerValue, vectorLength: 1, threatModel: threatModel))
                != nil
        }
    }
}
