import FedPulseTestSupport
import Foundation
import Privacy
import Testing

extension PrivacyEndToEndTests {
    /// `fedpulse privacy skellam`: the planner prints what the auditor would charge, and the
    /// coordinator refuses `--dp skellam` without secure aggregation.
    @Suite(.timeLimit(.minutes(1)))
    struct SkellamCalculatorCLITests {
        static let plan = [
            "privacy", "skellam", "--clip", "1", "--scale", "64", "--dimension", "1000", "--survivors", "100",
            "--rounds", "100", "--delta", "1e-5", "--sampling-rate", "0.01", "--rotate",
        ]

        @Test func epsilonIsTheAuditorsAndTheJSONKeysAreDocumented() async throws {
            let output = try await PrivacyEndToEndTests.fedpulse(Self.plan + ["--device-variance", "400", "--json"])
            #expect(output.status == 0, "\(output.text)")
            let object = try PrivacyCalculatorCLITests.jsonObject(output)
            #expect(Set(object.keys) == (try await PrivacyCalculatorCLITests.documentedKeys("skellam")))
            let parameters = SkellamParameters(
                clipNorm: 1,
                scale: 64,
                deviceVariance: 400,
                dimension: 1_000,
                valueBits: 62,
                rotationSeed: 0
            )
            let expected = SkellamPlan(
                parameters: parameters,
                samplingRate: 0.01,
                survivors: 100,
                rounds: 100,
                delta: 1e-5
            )
            let epsilon = try #require(object["epsilon"] as? Double)
            #expect(relativeDifference(epsilon, expected.epsilon.epsilon) < 1e-12)
            #expect(object["encodedDimension"] as? Int == 1_024)
            #expect(object["valueBits"] as? Int == expected.minimumValueBits)
            #expect(object["modulusBits"] as? Int == (expected.minimumValueBits ?? 0) + 7)
        }

        @Test func targetEpsilonGivesTheSmallestVarianceThatMeetsIt() async throws {
            let output = try await PrivacyEndToEndTests.fedpulse(Self.plan + ["--target-epsilon", "1", "--json"])
            #expect(output.status == 0, "\(output.text)")
            let object = try PrivacyCalculatorCLITests.jsonObject(output)
            let mu = try #require(object["deviceVariance"] as? Double)
            let epsilon = try #require(object["epsilon"] as? Double)
            #expect(epsilon <= 1 && epsilon >= 0.99, "ε(μ(1)) = \(epsilon)")
            let parameters = SkellamParameters(
                clipNorm: 1,
                scale: 64,
                deviceVariance: mu * 0.99,
                dimension: 1_000,
                valueBits: 62,
                rotationSeed: 0
            )
            let less = SkellamPlan(parameters: parameters, samplingRate: 0.01, survivors: 100, rounds: 100, delta: 1e-5)
            #expect(less.epsilon.epsilon > 1, "1 % less noise no longer meets the target")
        }

        @Test(arguments: [
            ["--device-variance", "400", "--survivors", "1"],
            ["--device-variance", "400", "--target-epsilon", "1"],
            ["--device-variance", "-1"],
            ["--device-variance", "400", "--beta", "1"],
        ])
        func invalidPlansExitNonZeroWithoutJSON(_ extra: [String]) async throws {
            var arguments = Self.plan + ["--json"]
            if let index = arguments.firstIndex(of: "--survivors"), extra.contains("--survivors") {
                arguments.removeSubrange(index...(index + 1))
            }
            let output = try await PrivacyEndToEndTests.fedpulse(arguments + extra)
            #expect(output.status != 0)
            #expect(!output.text.hasPrefix("{"), "\(output.text)")
        }

        @Test func theCoordinatorRefusesSkellamWithoutSecureAggregation() async throws {
            let output = try await PrivacyEndToEndTests.fedpulse([
                "coordinator", "--dp", "skellam", "--clip", "1", "--skellam-scale", "64", "--skellam-variance", "400",
                "--skellam-min-survivors", "10", "--auditor-events", "tcp://127.0.0.1:1", "--auditor-ledger",
                "tcp://127.0.0.1:2",
            ])
            #expect(output.status != 0)
            #expect(output.text.contains("--secure-aggregation"), "\(output.text)")
        }
    }
}
