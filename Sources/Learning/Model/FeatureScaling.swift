/// How one raw feature is mapped to a model input, from constants fixed in the spec.
///
/// Scaling constants are written into the spec from documented physiological ranges (or from
/// federated statistics), never estimated from one worker's raw data, so nothing about a user's
/// records leaks through the model spec and every worker scales identically.
public struct FeatureScaling: Codable, Sendable, Hashable {
    /// Subtracted from the raw value.
    public let center: Double
    /// The raw value minus `center` is divided by this (always positive and finite).
    public let spread: Double
    /// How the constants were chosen; kept so the JSON stays readable.
    let method: Method

    enum Method: String, Codable, Sendable {
        case range, standardize
    }

    /// Maps the fixed range [minimum, maximum] onto [−1, 1].
    ///
    /// Values outside the range are not an error (a marathon day has more steps than the range
    /// allows); they scale past ±1 and are clamped at ±``clampLimit``.
    public static func range(minimum: Double, maximum: Double) -> FeatureScaling {
        precondition(maximum > minimum && minimum.isFinite && maximum.isFinite, "range must be finite and non-empty")
        return FeatureScaling(center: (minimum + maximum) / 2, spread: (maximum - minimum) / 2, method: .range)
    }

    /// Standardises with a fixed population mean and standard deviation.
    public static func standardize(mean: Double, standardDeviation: Double) -> FeatureScaling {
        precondition(standardDeviation > 0 && mean.isFinite && standardDeviation.isFinite, "bad standardisation")
        return FeatureScaling(center: mean, spread: standardDeviation, method: .standardize)
    }

    /// Scaled values are clamped to ±4 so one absurd reading (a sensor glitch, a typo in an
    /// export) cannot dominate a gradient step.
    public static let clampLimit: Float = 4

    /// The scaled, clamped model input for a raw value.
    @inline(__always)
    func scale(_ raw: Double) -> Float {
        let scaled = Float((raw - center) / spread)
        return min(max(scaled, -Self.clampLimit), Self.clampLimit)
    }

    private enum CodingKeys: String, CodingKey {
        case method, minimum, maximum, mean, standardDeviation
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let method = try container.decode(Method.self, forKey: .method)
        switch method {
        case .range:
            let low = try container.decode(Double.self, forKey: .minimum)
            let high = try container.decode(Double.self, forKey: .maximum)
            guard low.isFinite, high.isFinite, high > low else {
                throw DecodingError.dataCorruptedError(
                    forKey: .maximum,
                    in: container,
                    debugDescription: "range needs finite minimum < maximum"
                )
            }
            self = .range(minimum: low, maximum: high)
        case .standardize:
            let mean = try container.decode(Double.self, forKey: .mean)
            let deviation = try container.decode(Double.self, forKey: .standardDeviation)
            guard mean.isFinite, deviation.isFinite, deviation > 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .standardDeviation,
                    in: container,
                    debugDescription: "standardisation needs a finite mean and a positive deviation"
                )
            }
            self = .standardize(mean: mean, standardDeviation: deviation)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(method, forKey: .method)
        switch method {
        case .range:
            try container.encode(center - spread, forKey: .minimum)
            try container.encode(center + spread, forKey: .maximum)
        case .standardize:
            try container.encode(center, forKey: .mean)
            try container.encode(spread, forKey: .standardDeviation)
        }
    }

    private init(center: Double, spread: Double, method: Method) {
        self.center = center
        self.spread = spread
        self.method = method
    }
}
