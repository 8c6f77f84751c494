/// Why a secure-aggregation configuration was refused.
public enum SecAggConfigurationError: Error, Equatable, Sendable {
    /// The modulus cannot hold the cohort's sum: bits < bits per value + ⌈log2(cohort)⌉.
    case sumCouldWrap(modulusBits: Int, required: Int)
    /// Bits per value, modulus bits, cohort size or vector length outside what this build supports.
    case outOfRange(String)
    /// The threshold is below 2 or above the degree, or the degree is not below the cohort size.
    case invalidGraph(degree: Int, threshold: Int, cohort: Int)
}

/// The numbers every device and the shard must agree on before a secure-aggregation round.
///
/// Built only through `init(…)`, which refuses a modulus that the cohort's sum could wrap:
/// with n values each in [−(2^(k−1) − 1), 2^(k−1) − 1] the sum lies strictly inside
/// ±n·2^(k−1) ≤ ±2^(k−1+⌈log2 n⌉), which two's complement mod 2^b holds iff
/// b ≥ k + ⌈log2 n⌉. A wrapped sum would decode as a plausible but wrong update.
public struct SecAggConfiguration: Sendable, Hashable {
    /// Longest vector a round may carry (the model plus the example weight).
    public static let maxLength = 1 << 26
    /// Largest cohort in one shard; the parameter finder is checked up to here.
    public static let maxCohort = 1 << 20

    public let bitsPerValue: Int
    public let modulusBits: Int
    public let cohortSize: Int
    public let vectorLength: Int
    public let degree: Int
    public let threshold: Int

    public init(
        bitsPerValue: Int,
        modulusBits: Int,
        cohortSize: Int,
        vectorLength: Int,
        degree: Int,
        threshold: Int
    ) throws(SecAggConfigurationError) {
        guard (2...62).contains(bitsPerValue) else { throw .outOfRange("bitsPerValue \(bitsPerValue) not in 2...62") }
        guard (1...64).contains(modulusBits) else { throw .outOfRange("modulusBits \(modulusBits) not in 1...64") }
        guard (2...Self.maxCohort).contains(cohortSize) else {
            throw .outOfRange("cohortSize \(cohortSize) not in 2...\(Self.maxCohort)")
        }
        guard (1...Self.maxLength).contains(vectorLength) else {
            throw .outOfRange("vectorLength \(vectorLength) not in 1...\(Self.maxLength)")
        }
        let required = Self.requiredModulusBits(bitsPerValue: bitsPerValue, cohortSize: cohortSize)
        guard modulusBits >= required else { throw .sumCouldWrap(modulusBits: modulusBits, required: required) }
        guard threshold >= 2, threshold <= degree, degree < cohortSize else {
            throw .invalidGraph(degree: degree, threshold: threshold, cohort: cohortSize)
        }
        self.bitsPerValue = bitsPerValue
        self.modulusBits = modulusBits
        self.cohortSize = cohortSize
        self.vectorLength = vectorLength
        self.degree = degree
        self.threshold = threshold
    }

    /// k + ⌈log2 n⌉, computed on integers (no floating-point log at a boundary like n = 2^j).
    public static func requiredModulusBits(bitsPerValue: Int, cohortSize: Int) -> Int {
        var ceilLog2 = 0
        while ceilLog2 < 63, (1 << ceilLog2) < cohortSize { ceilLog2 += 1 }
        return bitsPerValue + ceilLog2
    }
}
