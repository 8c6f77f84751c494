/// The wearable feature catalogue and its fixed population norms.
///
/// Each feature is standardised with a fixed adult population mean and standard deviation
/// (rounded values typical of consumer-wearable cohorts), chosen once and not fitted to any
/// data, so the spec reveals nothing about any user. Standardising with population norms
/// rather than min–max over the full clinical range keeps typical inputs near unit variance,
/// which lets SGD converge in a few federated rounds; the physiological range is kept
/// alongside for validation and documentation.
///
/// | feature | unit | mean | SD | plausible range |
/// |---|---|---:|---:|---|
/// | `resting_hr` | bpm | 64 | 8 | 40–100 |
/// | `hrv_rmssd` | ms | 45 | 20 | 10–150 |
/// | `steps` | steps/day | 7 500 | 3 500 | 0–25 000 |
/// | `active_minutes` | min/day | 35 | 25 | 0–180 |
/// | `sleep_duration` | h | 7.1 | 1.0 | 3–11 |
/// | `sleep_efficiency` | % | 88 | 5 | 60–100 |
/// | `evening_light` | lux | 90 | 80 | 0–600 (mean 20:00–23:00) |
/// | `late_screen_time` | min | 50 | 35 | 0–180 (screen-on after 22:00) |
/// | `bedtime_variability` | min | 35 | 18 | 0–120 (SD of bedtime over 7 nights) |
///
/// Every feature may be missing (no device measures all of them), so each gets an
/// availability flag input; see ``ModelSpec`` for the input layout.
public enum WearableFeatures {
    /// Catalogue entries in model-input order.
    public static let all: [ModelSpec.Feature] = catalogue.map {
        ModelSpec.Feature(
            name: $0.name,
            scaling: .standardize(mean: $0.mean, standardDeviation: $0.deviation),
            mayBeMissing: true
        )
    }

    /// Plausible physiological range of each feature, in catalogue order.
    public static let plausibleRanges: [String: ClosedRange<Double>] = Dictionary(
        uniqueKeysWithValues: catalogue.map { ($0.name, $0.range) }
    )

    private static let catalogue: [(name: String, mean: Double, deviation: Double, range: ClosedRange<Double>)] = [
        ("resting_hr", 64, 8, 40...100),
        ("hrv_rmssd", 45, 20, 10...150),
        ("steps", 7_500, 3_500, 0...25_000),
        ("active_minutes", 35, 25, 0...180),
        ("sleep_duration", 7.1, 1.0, 3...11),
        ("sleep_efficiency", 88, 5, 60...100),
        ("evening_light", 90, 80, 0...600),
        ("late_screen_time", 50, 35, 0...180),
        ("bedtime_variability", 35, 18, 0...120),
    ]
}

/// Catalogue positions, used to fill raw records.
enum WearableFeature: Int, CaseIterable {
    case restingHeartRate, hrv, steps, activeMinutes, sleepDuration, sleepEfficiency
    case eveningLight, lateScreenTime, bedtimeVariability

    var name: String { WearableFeatures.all[rawValue].name }
}

extension ModelSpec {
    /// A spec for a built-in task over the full wearable catalogue.
    ///
    /// - Parameter architecture: defaults to ``LearningTask/defaultArchitecture``.
    public static func wearable(
        task: LearningTask,
        architecture: Architecture? = nil
    ) throws(LearningError) -> ModelSpec {
        try ModelSpec(
            architecture: architecture ?? task.defaultArchitecture,
            features: WearableFeatures.all,
            labels: task.labels
        )
    }
}
