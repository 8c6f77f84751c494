/// What one shard's secure aggregation did in one round, as it travels up the hierarchy.
///
/// Distributed noise under SecAgg is only as large as the number of devices whose masked input
/// was really unmasked into the sum: the auditor accounts over these securely counted
/// survivors, never the expected cohort. The shard writes one record into its `partial`; the
/// global aggregator copies them into `model.candidate`, the coordinator into `round.completed`,
/// and the auditor's ledger entry keeps them, so the ledger says which rounds were
/// secure-aggregated and with what parameters.
public struct SecureAggregationRecord: Codable, Sendable, Equatable {
    /// The shard's device class raw value (`watch`, `phone`, `tablet`).
    public var deviceClass: String
    /// The shard index within the class (≥ 0).
    public var shard: Int
    /// Devices whose masked input is in the unmasked sum (≥ 0).
    public var survivors: Int
    /// Devices that advertised keys this round (≥ survivors).
    public var advertised: Int
    /// Neighbour-graph degree k (≥ 1).
    public var degree: Int
    /// Shamir threshold t (1 ≤ t ≤ degree).
    public var threshold: Int
    /// The sum is taken mod 2^modulusBits (1…62).
    public var modulusBits: Int
    /// Bits per quantized value before summation (1…modulusBits).
    public var valueBits: Int

    /// Most records one message may carry (one per shard of the hierarchy).
    public static let maxRecords = 1_024

    public init(
        deviceClass: String,
        shard: Int,
        survivors: Int,
        advertised: Int,
        degree: Int,
        threshold: Int,
        modulusBits: Int,
        valueBits: Int
    ) {
        self.deviceClass = deviceClass
        self.shard = shard
        self.survivors = survivors
        self.advertised = advertised
        self.degree = degree
        self.threshold = threshold
        self.modulusBits = modulusBits
        self.valueBits = valueBits
    }

    func validate(_ check: FieldCheck) throws(WireError) {
        try check.require(
            DeviceClassName(rawValue: deviceClass) != nil,
            "deviceClass",
            "is not a known device class"
        )
        try check.atLeast("shard", shard, 0)
        try check.atLeast("survivors", survivors, 0)
        try check.atLeast("advertised", advertised, survivors)
        try check.atLeast("degree", degree, 1)
        try check.range("threshold", threshold, 1...max(1, degree))
        try check.range("modulusBits", modulusBits, 1...62)
        try check.range("valueBits", valueBits, 1...max(1, modulusBits))
    }
}

extension FieldCheck {
    /// At most one record per (class, shard); each record in range.
    func secureAggregation(_ key: String, _ records: [SecureAggregationRecord]) throws(WireError) {
        try require(
            records.count <= SecureAggregationRecord.maxRecords,
            key,
            "has more than \(SecureAggregationRecord.maxRecords) records"
        )
        var seen: Set<String> = []
        for (index, record) in records.enumerated() {
            try record.validate(nested("\(key)[\(index)]"))
            let slot = "\(record.deviceClass)/\(record.shard)"
            try require(seen.insert(slot).inserted, key, "names shard \(slot) twice")
        }
    }
}
