import Foundation

/// What each device class reports of a true day: which features, with what bias and noise.
///
/// | feature | watch | phone | tablet |
/// |---|---|---|---|
/// | resting HR | ±1.5 bpm | — | — |
/// | HRV (RMSSD) | ×e^N(0, 0.1) | — | — |
/// | steps | ×e^N(0, 0.06) | ×0.75 e^N(0, 0.2) (not always carried) | — |
/// | active minutes | ×e^N(0, 0.12) | ×0.7 e^N(0, 0.3) | — |
/// | sleep duration | ±0.25 h | +0.35 h bias ± 0.7 h (motion + screen heuristic) | — |
/// | sleep efficiency | ±2.5 % | shrunk towards 90 %, ± 4 % | — |
/// | evening light | ×e^N(0, 0.35) | ×e^N(0, 0.5) | ×e^N(0, 0.6), 70 % of days |
/// | late screen time | — | ±3 min | 0.6 × screen ± 8 min (its own screen only) |
/// | bedtime variability | ±4 min | ±10 min | ±20 min, 50 % of days |
///
/// A watch is off the wrist (charging) on 8 % of nights, losing that night's sleep, HR and HRV.
/// Missing values are reported as nil and become availability flags in the model input.
enum DeviceObservation {
    static func observe(
        _ day: DayRecord,
        on device: DeviceClass,
        using rng: inout some RandomNumberGenerator
    ) -> [Double?] {
        var seen = [Double?](repeating: nil, count: WearableFeature.allCases.count)
        func noisy(_ value: Double, _ deviation: Double) -> Double {
            value + rng.nextGaussian(mean: 0, standardDeviation: deviation)
        }
        func scaled(_ value: Double, _ factor: Double, _ deviation: Double) -> Double {
            value * factor * exp(rng.nextGaussian(mean: 0, standardDeviation: deviation))
        }
        func set(_ feature: WearableFeature, _ value: Double, _ low: Double, _ high: Double) {
            seen[feature.rawValue] = clamp(value, low, high)
        }
        switch device {
        case .watch:
            let worn = rng.nextUnitDouble() >= 0.08
            if worn {
                set(.restingHeartRate, noisy(day[.restingHeartRate], 1.5), 30, 200)
                set(.hrv, scaled(day[.hrv], 1, 0.1), 1, 300)
                set(.sleepDuration, noisy(day[.sleepDuration], 0.25), 0, 16)
                set(.sleepEfficiency, noisy(day[.sleepEfficiency], 2.5), 30, 100)
            }
            set(.steps, scaled(day[.steps], 1, 0.06), 0, 100_000)
            set(.activeMinutes, scaled(day[.activeMinutes], 1, 0.12), 0, 600)
            set(.eveningLight, scaled(day[.eveningLight], 1, 0.35), 0, 100_000)
            set(.bedtimeVariability, noisy(day[.bedtimeVariability], 4), 0, 300)
        case .phone:
            set(.steps, scaled(day[.steps], 0.75, 0.2), 0, 100_000)
            set(.activeMinutes, scaled(day[.activeMinutes], 0.7, 0.3), 0, 600)
            set(.sleepDuration, noisy(day[.sleepDuration] + 0.35, 0.7), 0, 16)
            set(.sleepEfficiency, noisy(90 + 0.5 * (day[.sleepEfficiency] - 88), 4), 30, 100)
            set(.eveningLight, scaled(day[.eveningLight], 1, 0.5), 0, 100_000)
            set(.lateScreenTime, noisy(day[.lateScreenTime], 3), 0, 300)
            set(.bedtimeVariability, noisy(day[.bedtimeVariability], 10), 0, 300)
        case .tablet:
            if rng.nextUnitDouble() < 0.7 {
                set(.eveningLight, scaled(day[.eveningLight], 1, 0.6), 0, 100_000)
            }
            set(.lateScreenTime, noisy(0.6 * day[.lateScreenTime], 8), 0, 300)
            if rng.nextUnitDouble() < 0.5 {
                set(.bedtimeVariability, noisy(day[.bedtimeVariability], 20), 0, 300)
            }
        }
        return seen
    }
}
