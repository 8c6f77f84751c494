import FedPulseTestSupport
import Foundation
import SecureAggregation
import Testing

extension PrivacyEndToEndTests {
    /// `fedpulse privacy secagg` prints the numbers a shard and its devices will derive for a
    /// cohort size, so an operator can size shards before a run.
    @Suite(.timeLimit(.minutes(1)))
    struct SecAggCalculatorCLITests {
        @Test func theRowsAreTheProtocolsOwnRuleAndTooSmallCohortsSaySo() async throws {
            let output = try await PrivacyEndToEndTests.fedpulse([
                "privacy", "secagg", "--devices", "3,100,167", "--dropout-rate", "0.3", "--corrupt-rate", "0.05",
                "--json",
            ])
            #expect(output.status == 0, "\(output.text)")
            let object = try PrivacyCalculatorCLITests.jsonObject(output)
            #expect(Set(object.keys) == (try await PrivacyCalculatorCLITests.documentedKeys("secagg")))
            let threat = SecAggThreatModel(corruptRate: 0.05, dropoutRate: 0.3)
            let smallest = SecAggConfiguration.smallestCohort(bitsPerValue: 16, threatModel: threat)
            #expect(object["smallestCohort"] as? Int == smallest)
            let rows = try #require(object["rows"] as? [[String: Any]])
            #expect(rows.count == 3)
            #expect(rows.first?["error"] is String, "3 devices have no graph at a 30 % dropout rate")
            for row in rows.dropFirst() {
                let devices = try #require(row["devices"] as? Int)
                let expected = try SecAggConfiguration.forShard(
                    cohortSize: devices,
                    bitsPerValue: 16,
                    vectorLength: 1,
                    threatModel: threat
                )
                #expect(row["degree"] as? Int == expected.degree)
                #expect(row["threshold"] as? Int == expected.threshold)
                #expect(row["modulusBits"] as? Int == expected.modulusBits)
            }
        }

        @Test func cohortSizesOutsideTheProtocolAreRefused() async throws {
            for devices in ["1", "x", "5,,6"] {
                let output = try await PrivacyEndToEndTests.fedpulse(["privacy", "secagg", "--devices", devices])
                #expect(output.status == 64, "\(devices): \(output.text)")
            }
        }
    }
}
