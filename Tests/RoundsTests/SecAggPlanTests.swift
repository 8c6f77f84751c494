import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// The rule both sides of a shard apply to a round's settings.
struct SecAggPlanTests {
    static let settings = SecureAggregationSettings(
        valueBits: 16,
        clipNorm: 10,
        dropoutRate: 0.3,
        corruptRate: 0.05,
        stageTimeoutMillis: 500
    )

    @Test func printSizes() {
        for n in [3, 4, 5, 6, 8, 10, 12, 16, 20, 30, 50, 100, 200, 256, 257] {
            switch SecAggPlan.make(settings: Self.settings, cohortSize: n, parameterCount: 10) {
            case .success(let plan): print("plan n=\(n) k=\(plan.configuration.degree) t=\(plan.configuration.threshold) b=\(plan.configuration.modulusBits)")
            case .failure(let e): print("plan n=\(n) fail \(e.detail)")
            }
        }
    }
}
