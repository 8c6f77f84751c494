/// Turns a clipped float update into integers mod 2^b that the masks can hide, and back.
///
/// Every device uses the same scale s = (2^(k−1) − 1)/C, so coordinates in [−C, C] (true of
/// any vector clipped to L2 norm C) map into ±(2^(k−1) − 1) and sums of integers are sums of
/// scaled values. Rounding is stochastic (up with probability equal to the fractional part), so
/// the quantized value is unbiased and the sum's error shrinks relative to the sum; a shared
/// deterministic rounding would add the same bias on every device.
public struct SecAggQuantizer: Sendable, Hashable {
    public let configuration: SecAggConfiguration
    public let clipNorm: Double

    /// Nil unless the clip norm is finite and positive.
    public init?(configuration: SecAggConfiguration, clipNorm: Double) {
        guard clipNorm.isFinite, clipNorm > 0 else { return nil }
        self.configuration = configuration
        self.clipNorm = clipNorm
    }

    var largest: Int64 { Self.largest(bitsPerValue: configuration.bitsPerValue) }
    var scale: Double { Double(largest) / clipNorm }
    /// u, the grid step in float units: stochastic rounding moves each coordinate by less than u,
    /// so a vector's norm by less than √d·u.
    public var step: Double { Self.step(clipNorm: clipNorm, bitsPerValue: configuration.bitsPerValue) }

    /// u for `bitsPerValue`-bit values over [−clipNorm, clipNorm], before any round has a
    /// configuration (the coordinator's start-up check uses the same step as the devices).
    public static func step(clipNorm: Double, bitsPerValue: Int) -> Double {
        clipNorm / Double(largest(bitsPerValue: bitsPerValue))
    }

    static func largest(bitsPerValue: Int) -> Int64 { (1 << Int64(bitsPerValue - 1)) - 1 }

    /// Nil when the length differs from the configuration's or a value is not finite.
    public func quantize(_ values: [Float], using generator: inout some RandomNumberGenerator) -> ModularVector? {
        guard values.count == configuration.vectorLength, values.allSatisfy(\.isFinite) else { return nil }
        let mask = ModularVector.mask(configuration.modulusBits)
        let largest = Double(self.largest)
        let encoded = values.map { value -> UInt64 in
            let scaled = min(max(Double(value) * scale, -largest), largest)
            let floor = scaled.rounded(.down)
            let up = Double.random(in: 0..<1, using: &generator) < scaled - floor
            let integer = Int64(up ? floor + 1 : floor)
            return UInt64(bitPattern: min(max(integer, -self.largest), self.largest)) & mask
        }
        return ModularVector(bits: configuration.modulusBits, values: encoded)
    }

    /// The float sum of the quantized vectors in `sum` (no division by the count).
    public func dequantize(_ sum: ModularVector) -> [Float] {
        sum.signedValues.map { Float(Double($0) / scale) }
    }

    /// Quantizes `update` and appends `weight` as one more, unscaled, coordinate, so the
    /// example weight travels inside the masked vector and the shard learns only the weight
    /// sum. Under DP every weight is 1 and the last coordinate of the sum is the securely
    /// counted number of survivors, the count a distributed-DP accountant must use.
    /// `configuration.vectorLength` must be `update.count + 1`; nil for a weight outside
    /// 0…2^(k−1) − 1 (it could not be told apart from a wrapped sum).
    public func quantize(
        _ update: [Float],
        weight: Int,
        using generator: inout some RandomNumberGenerator
    ) -> ModularVector? {
        guard weight >= 0, Int64(weight) <= largest, update.count + 1 == configuration.vectorLength,
            update.allSatisfy(\.isFinite)
        else { return nil }
        let body = SecAggQuantizer(lengthOf: update.count, like: self)?.quantize(update, using: &generator)
        return body.flatMap { ModularVector(bits: configuration.modulusBits, values: $0.values + [UInt64(weight)]) }
    }

    /// The float sum and the weight sum of vectors made by `quantize(_:weight:using:)`.
    public func dequantizeWeighted(_ sum: ModularVector) -> (sum: [Float], weightSum: Int64)? {
        let signed = sum.signedValues
        guard let weightSum = signed.last, weightSum >= 0 else { return nil }
        return (signed.dropLast().map { Float(Double($0) / scale) }, weightSum)
    }

    /// The same scale for a vector one coordinate shorter (the update without its weight).
    private init?(lengthOf count: Int, like other: SecAggQuantizer) {
        let base = other.configuration
        guard
            let configuration = try? SecAggConfiguration(
                bitsPerValue: base.bitsPerValue,
                modulusBits: base.modulusBits,
                cohortSize: base.cohortSize,
                vectorLength: count,
                degree: base.degree,
                threshold: base.threshold
            )
        else { return nil }
        self.init(configuration: configuration, clipNorm: other.clipNorm)
    }
}
