import FedPulseTestSupport
import Foundation
import Runtime
import Testing

extension EndToEndTests {
    /// `--compression q8` under `--secure-aggregation`: the masked integers are the 8-bit levels
    /// (the SecAgg quantizer is q8's stochastic rounding over the shared range), and encodings
    /// the masked sum cannot carry are refused at start with the reason.
    @Suite(.timeLimit(.minutes(2)))
    struct SecAggCompressionDemoTests {
        @Test func q8UnderSecureAggregationMasksEightBitLevels() async throws {
            let run = try await DemoCommand.run(
                "secagg-q8",
                [
                    "--secure-aggregation", "--compression", "q8", "--dp", "off", "--rounds", "2",
                    "--devices-per-class", "6", "--round-timeout-ms", "8000", "--secagg-stage-timeout-ms", "1500",
                ]
            )
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("SecAgg+ in every shard: 8-bit values"), "\(run.output)")
            #expect(run.output.contains("8-bit); 18 of 18 survived"), "\(run.output)")
        }

        @Test func encodingsTheMaskedSumCannotCarryAreRefusedAtStart() async throws {
            let cases: [([String], String)] = [
                (["--compression", "topk:0.1"], "topk keeps each device's own coordinates"),
                (["--compression", "randk:0.1,q8"], "not wired through the masks"),
                (["--compression", "q8", "--secagg-value-bits", "12"], "means 8-bit values"),
                (["--compression", "q4", "--dp", "skellam"], "picks its own integers"),
            ]
            for (arguments, expected) in cases {
                let run = try await DemoCommand.run("secagg-refusal", ["--secure-aggregation"] + arguments)
                #expect(run.status == 64, "\(arguments): \(run.output)")
                #expect(run.output.contains(expected), "\(arguments): \(run.output)")
            }
        }
    }
}
