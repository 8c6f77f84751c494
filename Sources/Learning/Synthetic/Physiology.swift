import Foundation

/// One simulated person: stable traits that shape every day they generate.
///
/// Traits are drawn once per (seed, user index), independent of the device class, so the same
/// person can be observed through a watch or a phone — useful for tests, and the reason device
/// noise lives in ``DeviceObservation``, not here.
struct UserPhysiology: Sendable {
    /// Standardised cardiorespiratory fitness (mean 0, SD 1).
    var fitness: Double
    /// Typical resting heart rate, bpm.
    var restingHeartRate: Double
    /// Typical nightly RMSSD, ms.
    var hrvBaseline: Double
    /// Standardised chronotype; positive = evening type (late light, late screens).
    var chronotype: Double
    /// 0 (chaotic) to 1 (clockwork) bedtime regularity.
    var sleepRegularity: Double
    /// Typical daily steps.
    var stepsBaseline: Double
    /// Hours of sleep this person typically gets when nothing interferes.
    var sleepNeed: Double
    /// Unobserved per-person shift of the poor-night log-odds (some people simply sleep worse).
    var sleepQualityOffset: Double

    init(using rng: inout some RandomNumberGenerator) {
        fitness = rng.nextGaussian()
        restingHeartRate = clamp(64 - 4 * fitness + rng.nextGaussian(mean: 0, standardDeviation: 5), 42, 90)
        hrvBaseline = clamp(exp(log(42) + 0.25 * fitness + rng.nextGaussian(mean: 0, standardDeviation: 0.3)), 12, 140)
        chronotype = rng.nextGaussian()
        sleepRegularity = clamp(1 / (1 + exp(-(0.8 + rng.nextGaussian()))), 0.05, 0.99)
        stepsBaseline = clamp(
            exp(log(7_500) + 0.3 * fitness + rng.nextGaussian(mean: 0, standardDeviation: 0.25)),
            1_500,
            20_000
        )
        sleepNeed = 7.4 + rng.nextGaussian(mean: 0, standardDeviation: 0.4)
        sleepQualityOffset = rng.nextGaussian(mean: 0, standardDeviation: 0.4)
    }
}

/// The true (noise-free) values of one day and the night that follows, before any device sees them.
struct DayRecord: Sendable {
    var values: [Double]
    /// Standardised daily stress (drives heart rate up, HRV and sleep down).
    var stress: Double

    subscript(feature: WearableFeature) -> Double {
        get { values[feature.rawValue] }
        set { values[feature.rawValue] = newValue }
    }

    /// Draws one day for `user`.
    init(user: UserPhysiology, using rng: inout some RandomNumberGenerator) {
        values = [Double](repeating: 0, count: WearableFeature.allCases.count)
        stress = rng.nextGaussian()
        let activity = rng.nextGaussian()
        let steps = clamp(user.stepsBaseline * exp(0.35 * activity), 200, 40_000)
        let active = clamp(
            28 * exp(0.45 * user.fitness + 0.55 * activity + rng.nextGaussian(mean: 0, standardDeviation: 0.25)),
            0,
            300
        )
        let screen = clamp(
            50 + 22 * user.chronotype + 15 * stress - 8 * activity + rng.nextGaussian(mean: 0, standardDeviation: 15),
            0,
            240
        )
        let light = clamp(
            exp(
                log(70) + 0.3 * user.chronotype + 0.2 * (screen - 50) / 30
                    + rng.nextGaussian(mean: 0, standardDeviation: 0.5)
            ),
            1,
            2_000
        )
        let bedtime = clamp(
            15 + 55 * (1 - user.sleepRegularity) + 6 * abs(user.chronotype)
                + rng.nextGaussian(mean: 0, standardDeviation: 6),
            2,
            180
        )
        let duration = clamp(
            user.sleepNeed - 0.012 * (screen - 50) - 0.012 * (bedtime - 35) - 0.25 * stress + 0.1 * activity
                + rng.nextGaussian(mean: 0, standardDeviation: 0.6),
            3,
            11.5
        )
        let efficiency = clamp(
            89 - 1.8 * stress - 0.06 * (bedtime - 35) - 1.2 * max(0, log(light / 150)) + 0.8 * activity
                + rng.nextGaussian(mean: 0, standardDeviation: 3),
            55,
            99
        )
        let heartRate =
            user.restingHeartRate + 2.2 * stress - 0.6 * (duration - 7)
            + rng.nextGaussian(mean: 0, standardDeviation: 1.3)
        let hrv =
            user.hrvBaseline
            * exp(-0.13 * stress + 0.04 * (duration - 7) + rng.nextGaussian(mean: 0, standardDeviation: 0.1))
        self[.restingHeartRate] = heartRate
        self[.hrv] = hrv
        self[.steps] = steps
        self[.activeMinutes] = active
        self[.sleepDuration] = duration
        self[.sleepEfficiency] = efficiency
        self[.eveningLight] = light
        self[.lateScreenTime] = screen
        self[.bedtimeVariability] = bedtime
    }

    /// The ground-truth label of this day for `task`.
    ///
    /// Sleep quality is Bernoulli in a log-odds with main effects, two interactions (late screens
    /// under bright light; short sleep compounded by low efficiency) and the person's
    /// unobserved offset, so a linear model cannot reach the Bayes rate and an MLP has something
    /// to find. Activity level thresholds a noisy mix of log steps and log active minutes.
    func label(for task: LearningTask, user: UserPhysiology, using rng: inout some RandomNumberGenerator) -> Int {
        switch task {
        case .sleepQuality:
            let duration = (self[.sleepDuration] - 7.2) / 0.9
            let efficiency = (self[.sleepEfficiency] - 88) / 4
            let bedtime = (self[.bedtimeVariability] - 35) / 15
            let screen = (self[.lateScreenTime] - 50) / 30
            let light = (log(self[.eveningLight]) - log(70)) / 0.6
            let hrv = (log(self[.hrv]) - log(42)) / 0.4
            let heartRate = (self[.restingHeartRate] - 64) / 7
            let active = (self[.activeMinutes] - 35) / 25
            var logit = -0.9 - 1.5 * duration - 1.1 * efficiency + 0.45 * bedtime - 0.4 * hrv + 0.25 * heartRate
            logit += 0.5 * screen * max(light, 0) + 0.7 * max(0, -duration) * max(0, -efficiency) - 0.25 * active
            logit += user.sleepQualityOffset
            return rng.nextUnitDouble() < 1 / (1 + exp(-1.5 * logit)) ? 1 : 0
        case .activity:
            let steps = (log(self[.steps]) - log(7_500)) / 0.45
            let active = (log(self[.activeMinutes] + 5) - log(33)) / 0.6
            let score = 0.55 * steps + 0.45 * active + rng.nextGaussian(mean: 0, standardDeviation: 0.2)
            return Self.activityCutPoints.firstIndex { score < $0 } ?? Self.activityCutPoints.count
        }
    }

    /// Boundaries between the five activity levels on the standardised activity score.
    static let activityCutPoints: [Double] = [-0.75, -0.25, 0.25, 0.75]
}

@inline(__always)
func clamp(_ value: Double, _ low: Double, _ high: Double) -> Double {
    min(max(value, low), high)
}
