import FedPulseTestSupport
import Foundation
import Learning
import Runtime
import Synchronization
import Testing
import Wire

extension EndToEndTests {
    /// Compressed updates over real processes: the same seed with q8 and with top-k 10 % (error
    /// feedback) ends within 1 point of plain f32 on the synthetic task. Twelve rounds, so that
    /// error feedback has caught up on the 19-parameter model (at 5 rounds top-k sat on the edge).
    @Suite(.timeLimit(.minutes(3)))
    struct CompressionConvergenceTests {
        static func run(_ compression: String) async throws -> DemoOutcome {
            let spec = try ModelSpec.wearable(task: .sleepQuality, architecture: nil)
            let generator = SyntheticWearables(task: .sleepQuality, seed: 7)
            let report = FileManager.default.temporaryDirectory
                .appendingPathComponent(
                    "fedpulse-e2e/compression-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
                )
            var config = DemoConfig(
                executable: try FedPulseBinary.locate(),
                reportDirectory: report,
                spec: spec,
                generator: generator
            )
            config.rounds = 12
            config.devicesPerClass = 4
            config.seed = 7
            config.roundTimeoutMillis = 3_000
            config.learningArguments = ["--task", "sleep-quality", "--seed", "7"]
            config.training = TrainingConfig(learningRate: 0.3, localEpochs: 5, batchSize: 16)
            config.coordinatorArguments = [
                "--epochs", "5", "--learning-rate", "0.3", "--batch-size", "16", "--compression", compression,
            ]
            config.progress = { _ in }
            let frozen = config
            let runner = try RoleRunner()
            let result = Mutex<DemoOutcome?>(nil)
            runner.start(name: "e2e-compression") { control in
                let outcome = try DemoRun(config: frozen).run(stopWhen: control)
                result.withLock { $0 = outcome }
            }
            try await runner.waitUntilFinished()
            return try #require(result.withLock { $0 })
        }

        @Test func q8AndTopKConvergeWithinOnePointOfF32() async throws {
            let plain = try await Self.run("f32")
            let reference = try #require(plain.finalAccuracy)
            for compression in ["q8", "topk:0.1"] {
                let outcome = try await Self.run(compression)
                #expect(outcome.endReason == "roundLimit")
                #expect(outcome.rounds.last?.contributors == 12, "every compressed update was admitted")
                let accuracy = try #require(outcome.finalAccuracy)
                #expect(abs(accuracy - reference) <= 0.01, "\(compression): \(accuracy) vs f32 \(reference)")
                let bytesUp = outcome.rounds.reduce(0) { $0 + $1.bytesUp }
                let plainUp = plain.rounds.reduce(0) { $0 + $1.bytesUp }
                print(
                    "compression \(compression): accuracy \(accuracy) vs f32 \(reference), bytes up \(bytesUp) vs \(plainUp)"
                )
                if compression == "q8" { #expect(bytesUp < plainUp) }
            }
        }
    }
}
