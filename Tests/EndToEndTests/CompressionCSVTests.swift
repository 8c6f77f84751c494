import Foundation
import Testing

extension EndToEndTests {
    /// Compression over a CSV data set, as a user runs it (`fedpulse demo --data-dir`, every role a
    /// real process): q8 and top-k 10 % end within 1 point of f32 with the same data and seed, and
    /// the demo's own byte comparison says what was saved.
    @Suite(.timeLimit(.minutes(4)))
    struct CompressionCSVTests {
        /// The summary fields this test reads besides ``TabularExports/Run/Summary``.
        struct Bytes: Decodable {
            struct Round: Decodable { var bytesUp: Int }
            var rounds: [Round]
            var bytesUpToF32: Double?
        }

        @Test func q8AndTopKConvergeWithinOnePointOfF32OnCSV() async throws {
            let data = try TabularExports(name: "compression")
            try data.write(devices: 10, rowsPerDevice: 80, holdoutRows: 400)
            var results: [String: (accuracy: Double, bytes: Bytes, output: String)] = [:]
            for compression in ["f32", "q8", "topk:0.1"] {
                let run = try await data.runDemo(["--dp", "off", "--rounds", "8", "--compression", compression])
                #expect(run.status == 0, "\(compression) demo output:\n\(run.output)")
                let summary = try run.summary()
                #expect(summary.endReason == "roundLimit")
                let bytes = try JSONDecoder().decode(Bytes.self, from: Data(contentsOf: run.summaryFile))
                results[compression] = (try #require(summary.finalAccuracy), bytes, run.output)
            }
            let plain = try #require(results["f32"])
            #expect(plain.accuracy > 0.8, "the rule is learnable: f32 accuracy \(plain.accuracy)")
            // The f32 run is its own reference: its ratio is 1 up to header differences.
            let plainRatio = try #require(plain.bytes.bytesUpToF32)
            #expect(abs(plainRatio - 1) < 0.05, "f32 bytes up ÷ f32 reference \(plainRatio)")
            #expect(plain.output.contains("÷ f32"), "the round lines show the ratio column")
            for compression in ["q8", "topk:0.1"] {
                let result = try #require(results[compression])
                #expect(
                    abs(result.accuracy - plain.accuracy) <= 0.01,
                    "\(compression): \(result.accuracy) vs f32 \(plain.accuracy)"
                )
                let ratio = try #require(result.bytes.bytesUpToF32)
                let upload = result.bytes.rounds.reduce(0) { $0 + $1.bytesUp }
                let plainUpload = plain.bytes.rounds.reduce(0) { $0 + $1.bytesUp }
                #expect(ratio < 1, "\(compression) sends less than f32: \(ratio)")
                #expect(upload < plainUpload, "\(compression): \(upload) bytes up vs f32 \(plainUpload)")
                #expect(result.output.contains("bytes up per round"), "the table says the saving")
            }
        }
    }
}
