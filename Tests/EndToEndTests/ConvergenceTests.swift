import FedPulseTestSupport
import Foundation
import Learning
import Wire
import Runtime
import Synchronization
import Testing

extension EndToEndTests {
    /// Federated training through the whole hierarchy reaches what centralised training reaches.
    @Suite(.timeLimit(.minutes(1)))
    struct ConvergenceTests {
        /// Local epochs and learning rate of the run (and, for a fair comparison, of the baseline,
        /// which gets rounds × epochs passes). The CLI defaults (2 epochs, 0.1) end 5 rounds about
        /// 6.7 points short of the baseline; 5 epochs at 0.3 converge within 5 rounds.
        static let epochs = 5
        static let learningRate = 0.3

        @Test func fiveRoundsOfThreeClassesComeWithinAFewPointsOfTheCentralisedBaseline() async throws {
            let spec = try ModelSpec.wearable(task: .sleepQuality, architecture: nil)
            let generator = SyntheticWearables(task: .sleepQuality, seed: 7)
            let report = FileManager.default.temporaryDirectory
                .appendingPathComponent("fedpulse-e2e/convergence-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
            var config = DemoConfig(executable: try FedPulseBinary.locate(), reportDirectory: report, spec: spec, generator: generator)
            config.rounds = 5
            config.devicesPerClass = 4
            config.seed = 7
            config.roundTimeoutMillis = 3_000
            config.learningArguments = ["--task", "sleep-quality", "--seed", "7"]
            config.training = TrainingConfig(learningRate: Float(Self.learningRate), localEpochs: Self.epochs, batchSize: 16)
            config.coordinatorArguments = ["--epochs", "\(Self.epochs)", "--learning-rate", "\(Self.learningRate)", "--batch-size", "16"]
            config.progress = { _ in }
            let frozen = config

            // DemoRun blocks in zmq_poll: give it a thread of its own, as `fedpulse demo` does.
            let runner = try RoleRunner()
            let result = Mutex<DemoOutcome?>(nil)
            runner.start(name: "e2e-demo") { control in
                let outcome = try DemoRun(config: frozen).run(stopWhen: control)
                result.withLock { $0 = outcome }
            }
            try await runner.waitUntilFinished()
            let outcome = try #require(result.withLock { $0 })

            let holdout = try generator.centralHoldOut(users: 60, recordsPerUser: 30, spec: spec)
            let majorityShare = Double(holdout.labelCounts.max() ?? 0) / Double(max(1, holdout.count))
            let final = try #require(outcome.finalAccuracy)
            let central = try #require(outcome.centralizedAccuracy)
            print(
                String(
                    format: "convergence: federated %.4f after %d rounds, centralised %.4f, gap %+.2f points, hold-out majority %.4f, per round %@",
                    final, outcome.rounds.count, central, (final - central) * 100, majorityShare,
                    outcome.rounds.map { String(format: "%.4f", $0.accuracy ?? -1) }.joined(separator: " ")
                )
            )

            #expect(outcome.endReason == "roundLimit", "logs in \(report.path)/logs")
            #expect(outcome.rounds.map(\.round) == [1, 2, 3, 4, 5])
            #expect(outcome.rounds.last?.contributors == 12)
            #expect(outcome.rounds.last?.participants.counts == ["watch": 4, "phone": 4, "tablet": 4])
            // Well above chance (binary task) and above always answering the majority class.
            #expect(final >= 0.70)
            #expect(final >= majorityShare + 0.08)
            // Within a few points of the same model trained centrally on all the data.
            #expect(abs(final - central) <= 0.03)
            // Training did something: the last model beats the first round's.
            #expect(final > (outcome.rounds.first?.accuracy ?? 1))
        }
    }
}
