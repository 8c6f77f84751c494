/// The prediction tasks FedPulse ships with.
///
/// The raw values appear on the CLI and in model specs. Named `LearningTask`, not `Task`, so it
/// never shadows Swift concurrency's `Task`.
public enum LearningTask: String, CaseIterable, Codable, Sendable {
    /// Binary: was last night a poor night (short, fragmented, irregular sleep)?
    case sleepQuality = "sleep-quality"
    /// Five classes of daily activity level, from movement features.
    case activity = "activity"

    /// Class names in label order; a binary task lists the negative class first.
    public var labels: [String] {
        switch self {
        case .sleepQuality: ["good", "poor"]
        case .activity: ["sedentary", "low", "moderate", "active", "very-active"]
        }
    }

    /// A sensible default model: logistic regression for the binary task, softmax regression otherwise.
    public var defaultArchitecture: Architecture {
        switch self {
        case .sleepQuality: .logisticRegression
        case .activity: .softmaxRegression
        }
    }
}

/// The kind of device a worker runs on, which decides what it can measure and how well.
///
/// Regional aggregators are organised by device class, so the raw values are also region names.
public enum DeviceClass: String, CaseIterable, Codable, Sendable {
    /// Wrist-worn: heart rate, HRV, accurate movement and sleep staging, ambient light; no phone screen time.
    case watch
    /// Pocket or bedside: movement (undercounted), sleep estimated from motion and screen use, light, screen time.
    case phone
    /// Mostly stationary: screen time and ambient light, sometimes bedtime; nothing physiological.
    case tablet
}
