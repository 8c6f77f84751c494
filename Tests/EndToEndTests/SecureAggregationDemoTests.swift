import FedPulseTestSupport
import Foundation
import Learning
import Testing
import Wire

@testable import Runtime

extension EndToEndTests {
    /// `fedpulse demo --secure-aggregation` as the demo runs it (CURVE on, edge keys): every
    /// round is secure-aggregated, and the report says so with the parameters.
    @Suite(.timeLimit(.minutes(2)))
    struct SecureAggregationDemoTests {
        @Test func theDemoSecureAggregatesEveryRoundAndItsReportSaysWithWhat() async throws {
            let root = FileManager.default.temporaryDirectory
                .appendingPathComponent(
                    "fedpulse-e2e/secagg-demo-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
                )
            var config = DemoConfig(
                executable: try FedPulseBinary.locate(),
                reportDirectory: root,
                spec: try ModelSpec.wearable(task: .sleepQuality),
                generator: SyntheticWearables(task: .sleepQuality, seed: 5)
            )
            config.rounds = 2
            config.devicesPerClass = 6
            config.roundTimeoutMillis = 8_000
            config.progress = { _ in }
            config.coordinatorArguments = ["--secure-aggregation", "--secagg-stage-timeout-ms", "1500"]
            let outcome = try await EndToEndTests.runDemo(config)
            #expect(outcome.endReason == "roundLimit", "\(outcome.failure.map { "\($0)" } ?? outcome.endReason)")
            #expect(outcome.rounds.count == 2)
            for round in outcome.rounds {
                let records = try #require(round.secureAggregation, "round \(round.round) was not secure-aggregated")
                #expect(records.count == 3, "one record per shard")
                #expect(records.allSatisfy { $0.valueBits == 16 && $0.advertised == 6 && $0.survivors <= 6 })
                #expect(round.contributors == records.reduce(0) { $0 + $1.survivors })
            }
            let csv = try String(contentsOf: root.appendingPathComponent("metrics.csv"), encoding: .utf8)
            #expect(csv.contains("secure_aggregation") && csv.contains("3 shards SecAgg+ (k 2"))
            let html = try String(contentsOf: root.appendingPathComponent("index.html"), encoding: .utf8)
            #expect(html.contains("SecAgg+"))
        }
    }
}
