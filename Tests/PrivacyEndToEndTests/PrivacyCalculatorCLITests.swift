import FedPulseTestSupport
import Foundation
import Privacy
import Testing

extension PrivacyEndToEndTests {
    /// `fedpulse privacy epsilon|noise --json`: one JSON object with the documented keys, the
    /// accountants' values, and noise → epsilon round trips.
    @Suite(.timeLimit(.minutes(1)))
    struct PrivacyCalculatorCLITests {
        struct Plan: Sendable, CustomTestStringConvertible {
            var samplingRate: Double
            var rounds: Int
            var targetEpsilon: Double
            var testDescription: String { "q \(samplingRate), T \(rounds), ε \(targetEpsilon)" }
        }

        static let plans = [
            Plan(samplingRate: 0.01, rounds: 1_000, targetEpsilon: 1),
            Plan(samplingRate: 0.5, rounds: 10, targetEpsilon: 8),
            Plan(samplingRate: 1, rounds: 5, targetEpsilon: 3),
        ]

        /// The one JSON object a `--json` command prints (nothing else on standard output).
        static func jsonObject(_ output: ShortCommand.Output) throws -> [String: Any] {
            let lines = output.text.split(separator: "\n", omittingEmptySubsequences: true)
            try #require(lines.count == 1, "expected one line of JSON, got:\n\(output.text)")
            return try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any], "\(output.text)")
        }

        /// The keys `--help` documents for `--json` ("Print one JSON object: a, b, c.").
        static func documentedKeys(_ subcommand: String) async throws -> Set<String> {
            let help = try await PrivacyEndToEndTests.fedpulse(["privacy", subcommand, "--help"])
            let text = help.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let start = try #require(text.range(of: "Print one JSON object:"), "--json's help names no keys:\n\(help.text)")
            let list = text[start.upperBound...].prefix { $0 != "." }
            return Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }

        @Test func jsonKeysAreTheOnesTheHelpDocuments() async throws {
            let epsilon = try await PrivacyEndToEndTests.fedpulse([
                "privacy", "epsilon", "--sampling-rate", "0.1", "--noise-multiplier", "1", "--rounds", "10", "--delta", "1e-5", "--json",
            ])
            #expect(Set(try Self.jsonObject(epsilon).keys) == (try await Self.documentedKeys("epsilon")))
            let noise = try await PrivacyEndToEndTests.fedpulse([
                "privacy", "noise", "--epsilon", "2", "--delta", "1e-5", "--sampling-rate", "0.1", "--rounds", "10", "--json",
            ])
            #expect(Set(try Self.jsonObject(noise).keys) == (try await Self.documentedKeys("noise")))
        }

        @Test(arguments: plans)
        func noiseForATargetEpsilonRoundTripsThroughEpsilon(_ plan: Plan) async throws {
            let delta = PrivacyEndToEndTests.delta
            let noise = try await PrivacyEndToEndTests.fedpulse([
                "privacy", "noise", "--epsilon", "\(plan.targetEpsilon)", "--delta", "\(delta)",
                "--sampling-rate", "\(plan.samplingRate)", "--rounds", "\(plan.rounds)", "--json",
            ])
            #expect(noise.status == 0, "\(noise.text)")
            let noiseObject = try Self.jsonObject(noise)
            #expect(Set(noiseObject.keys) == ["noiseMultiplier"])
            let z = try #require(noiseObject["noiseMultiplier"] as? Double)
            let calibrated = try #require(
                NoiseCalibration.noiseMultiplier(targetEpsilon: plan.targetEpsilon, delta: delta, samplingRate: plan.samplingRate, rounds: plan.rounds)
            )
            #expect(relativeDifference(z, calibrated) < 1e-12)

            let epsilon = try await PrivacyEndToEndTests.fedpulse([
                "privacy", "epsilon", "--sampling-rate", "\(plan.samplingRate)", "--noise-multiplier", "\(z)",
                "--rounds", "\(plan.rounds)", "--delta", "\(delta)", "--json",
            ])
            #expect(epsilon.status == 0, "\(epsilon.text)")
            let epsilonObject = try Self.jsonObject(epsilon)
            #expect(Set(epsilonObject.keys) == ["epsilon", "delta", "accountant"])
            #expect(epsilonObject["accountant"] as? String == "rdp")
            #expect(epsilonObject["delta"] as? Double == delta)
            let spent = try #require(epsilonObject["epsilon"] as? Double)
            let accountant = RDPAccountant()
                .composing(SubsampledGaussian(samplingRate: plan.samplingRate, noiseMultiplier: z), count: plan.rounds)
                .epsilon(delta: delta).epsilon
            #expect(relativeDifference(spent, accountant) < 1e-12)
            // ε(z(ε)) ≤ ε, and close: bisection stops within 1e-4 of z, never on the unsafe side.
            #expect(spent <= plan.targetEpsilon)
            #expect(spent >= plan.targetEpsilon * 0.995, "ε(z(ε)) = \(spent) for ε = \(plan.targetEpsilon)")
            print("privacy noise/epsilon \(plan.testDescription): z \(z), ε(z) \(spent)")
        }

        @Test func epsilonWithThePLDAccountantMatchesPLDAccountant() async throws {
            let (q, z, rounds, delta) = (0.01, 1.1, 100, PrivacyEndToEndTests.delta)
            let output = try await PrivacyEndToEndTests.fedpulse([
                "privacy", "epsilon", "--sampling-rate", "\(q)", "--noise-multiplier", "\(z)", "--rounds", "\(rounds)",
                "--delta", "\(delta)", "--accountant", "pld", "--json",
            ])
            #expect(output.status == 0, "\(output.text)")
            let object = try Self.jsonObject(output)
            #expect(Set(object.keys) == ["epsilon", "delta", "accountant"])
            #expect(object["accountant"] as? String == "pld")
            let epsilon = try #require(object["epsilon"] as? Double)
            let mechanism = SubsampledGaussian(samplingRate: q, noiseMultiplier: z)
            let pld = PLDAccountant().composing(mechanism, count: rounds).epsilon(delta: delta).epsilon
            let rdp = RDPAccountant().composing(mechanism, count: rounds).epsilon(delta: delta).epsilon
            #expect(relativeDifference(epsilon, pld) < 1e-9)
            #expect(epsilon < rdp, "PLD \(epsilon) should be tighter than RDP \(rdp)")
            print("privacy epsilon --accountant pld: \(epsilon) (in-process \(pld), RDP \(rdp))")
        }

        @Test(arguments: [
            ["privacy", "epsilon", "--sampling-rate", "0", "--noise-multiplier", "1", "--rounds", "10", "--delta", "1e-5", "--json"],
            ["privacy", "epsilon", "--sampling-rate", "0.1", "--noise-multiplier", "0", "--rounds", "10", "--delta", "1e-5", "--json"],
            ["privacy", "epsilon", "--sampling-rate", "0.1", "--noise-multiplier", "1", "--rounds", "10", "--delta", "1e-5", "--accountant", "gdp"],
            ["privacy", "noise", "--epsilon", "0", "--delta", "1e-5", "--sampling-rate", "0.1", "--rounds", "10", "--json"],
            ["privacy", "noise", "--epsilon", "1", "--delta", "1", "--sampling-rate", "0.1", "--rounds", "10", "--json"],
        ])
        func invalidPlansExitNonZeroWithoutJSON(_ arguments: [String]) async throws {
            let output = try await PrivacyEndToEndTests.fedpulse(arguments)
            #expect(output.status != 0)
            #expect(!output.text.hasPrefix("{"), "\(output.text)")
        }
    }
}
