/// What a `round.open` says about secure aggregation: present iff the round's shards run
/// SecAgg+ (issue 10) over their cohort instead of accepting plain updates.
///
/// Only the values every device and its shard must agree on travel: the graph degree, the
/// Shamir threshold and the modulus follow from the shard's cohort size (its assignment's
/// `members`) with the same pure rule on both sides (`SecAggPlan` in Rounds), so a shard
/// cannot hand one device other parameters than the rest.
public struct SecureAggregationSettings: Codable, Sendable, Equatable {
    /// k, bits of one quantized value before summation (2…32; the masked sum needs
    /// k + ⌈log2 n⌉ ≤ 62 bits).
    public var valueBits: Int
    /// The quantizer's range C: every device clips its update to L2 norm C and maps [−C, C]
    /// onto ±(2^(k−1) − 1) (> 0, ≤ 1e6).
    public var clipNorm: Double
    /// The fraction of a shard's cohort expected to drop out during the round, [0, 0.5).
    public var dropoutRate: Double
    /// The fraction of devices assumed corrupt (colluding with the shard), [0, 0.5).
    public var corruptRate: Double
    /// How long the shard waits in each of the four stages before it closes it with whoever
    /// answered (1 … 600,000 ms).
    public var stageTimeoutMillis: Int
    /// The round's Skellam mechanism, present iff `privacy.placement` is `skellam`: the same
    /// numbers the coordinator proposed to the auditor, so every device encodes (and the shard
    /// decodes) exactly what was approved. Under it `valueBits` is unused: the masked values
    /// are the Skellam integers of `skellam.valueBits` bits.
    public var skellam: SkellamSettings?

    /// Creates the settings; `validate()` (run by the codec) checks the ranges.
    public init(
        valueBits: Int,
        clipNorm: Double,
        dropoutRate: Double,
        corruptRate: Double,
        stageTimeoutMillis: Int,
        skellam: SkellamSettings? = nil
    ) {
        self.valueBits = valueBits
        self.clipNorm = clipNorm
        self.dropoutRate = dropoutRate
        self.corruptRate = corruptRate
        self.stageTimeoutMillis = stageTimeoutMillis
        self.skellam = skellam
    }

    /// Largest `valueBits`: a dequantized value must stay exact enough in a Float sum.
    public static let maxValueBits = 32

    func validate(_ check: FieldCheck) throws(WireError) {
        try check.range("valueBits", valueBits, 2...Self.maxValueBits)
        try check.require(
            clipNorm.isFinite && clipNorm > 0 && clipNorm <= 1e6,
            "clipNorm",
            "\(clipNorm) is outside (0, 1e6]"
        )
        try check.require(
            dropoutRate.isFinite && dropoutRate >= 0 && dropoutRate < 0.5,
            "dropoutRate",
            "\(dropoutRate) is outside [0, 0.5)"
        )
        try check.require(
            corruptRate.isFinite && corruptRate >= 0 && corruptRate < 0.5,
            "corruptRate",
            "\(corruptRate) is outside [0, 0.5)"
        )
        try check.range("stageTimeoutMillis", stageTimeoutMillis, 1...600_000)
        try skellam?.validate(check.nested("skellam"))
    }
}

extension SecureAggregationRecord {
    /// One line for reports: `3 shards SecAgg+ (k 4–8, t 2, b 20–21, 16-bit); 58 of 60 survived`,
    /// or `plain` when no shard secure-aggregated the round.
    public static func summary(_ records: [SecureAggregationRecord]?) -> String {
        guard let records, !records.isEmpty else { return "plain" }
        func span(_ values: [Int]) -> String {
            let low = values.min() ?? 0
            let high = values.max() ?? 0
            return low == high ? "\(low)" : "\(low)–\(high)"
        }
        let survivors = records.reduce(0) { $0 &+ $1.survivors }
        let advertised = records.reduce(0) { $0 &+ $1.advertised }
        let shards = records.count == 1 ? "1 shard" : "\(records.count) shards"
        return
            "\(shards) SecAgg+ (k \(span(records.map(\.degree))), t \(span(records.map(\.threshold))), b \(span(records.map(\.modulusBits))), \(span(records.map(\.valueBits)))-bit); \(survivors) of \(advertised) survived"
    }
}
