import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// The minimum the coordinator folds secure shard groups to: folding only saves a group if
/// every size from that minimum up has a graph, and only if the minimum is the real one.
struct CoordinatorSecureFoldingTests {
    static func settings(dropout: Double, corrupt: Double, bits: Int = 16) -> SecureAggregationSettings {
        SecureAggregationSettings(
            valueBits: bits,
            clipNorm: 1,
            dropoutRate: dropout,
            corruptRate: corrupt,
            stageTimeoutMillis: 1_000
        )
    }

    static func hasGraph(_ cohort: Int, _ settings: SecureAggregationSettings) -> Bool {
        SecAggPlan.make(settings: settings, cohortSize: cohort, parameterCount: 1).isSuccess
    }

    /// Over the rates an operator may set (each in [0, 0.5)), a group folded to the minimum
    /// or above always gets a graph: no size above the minimum is missing one.
    @Test func everyGroupAtOrAboveTheMinimumHasAGraph() {
        for dropout in stride(from: 0.0, to: 0.5, by: 0.05) {
            for corrupt in stride(from: 0.0, to: 0.5, by: 0.05) {
                let settings = Self.settings(dropout: dropout, corrupt: corrupt)
                let minimum = CoordinatorRound.smallestSecureCohort(settings)
                let missing = (minimum...(minimum + 96)).filter { !Self.hasGraph($0, settings) }
                #expect(
                    missing.isEmpty,
                    "dropout \(dropout), corrupt \(corrupt): minimum \(minimum), none for \(missing)"
                )
                if minimum > 2 {
                    #expect(!Self.hasGraph(minimum - 1, settings), "dropout \(dropout), corrupt \(corrupt)")
                }
            }
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { true } else { false }
    }
}
