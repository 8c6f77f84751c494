import FedPulseTestSupport
import Foundation
import Learning
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// Real-data mode: one CSV export per device, scaled by federated feature statistics.
    @Suite(.timeLimit(.minutes(1)))
    struct CSVDataTests {
        @Test func csvDevicesTrainAfterAFederatedStatisticsRound() async throws {
            let spec = try ModelSpec.wearable(task: .sleepQuality, architecture: nil)
            let generator = SyntheticWearables(task: .sleepQuality, seed: 11)
            let root = FileManager.default.temporaryDirectory
                .appendingPathComponent(
                    "fedpulse-e2e/csv-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
                )
            let data = root.appendingPathComponent("data")
            let files = try SyntheticExport(generator: generator, spec: spec).write(
                devices: 9,
                holdoutUsers: 30,
                to: data
            )
            #expect(files.count == 10)

            var config = DemoConfig(
                executable: try FedPulseBinary.locate(),
                reportDirectory: root.appendingPathComponent("report"),
                spec: spec,
                generator: generator
            )
            config.rounds = 4
            config.seed = 11
            config.roundTimeoutMillis = 3_000
            config.dataDirectory = data
            config.learningArguments = ["--task", "sleep-quality", "--seed", "11"]
            config.training = TrainingConfig(learningRate: 0.3, localEpochs: 5, batchSize: 16)
            config.coordinatorArguments = ["--epochs", "5", "--learning-rate", "0.3", "--batch-size", "16"]
            config.progress = { _ in }
            let outcome = try await EndToEndTests.runDemo(config)

            #expect(outcome.endReason == "roundLimit", "logs in \(root.path)/report/logs")
            #expect(outcome.rounds.map(\.round) == [1, 2, 3, 4])
            #expect(outcome.rounds.allSatisfy { $0.contributors == 9 })
            // The statistics round changed the spec's scaling from the fixed ranges to the
            // federated means and deviations, and it is not counted as a training round.
            let checkpointURL = root.appendingPathComponent("report/state/checkpoint.json")
            let checkpoint = try JSONDecoder().decode(CoordinatorCheckpoint.self, from: Data(contentsOf: checkpointURL))
            #expect(checkpoint.statisticsDone)
            #expect(checkpoint.completedRounds == 4)
            #expect(checkpoint.spec.hasSameShape(as: spec))
            #expect(checkpoint.spec != spec)
            let stepsIndex = try #require(spec.featureNames.firstIndex(of: "steps"))
            let steps = checkpoint.spec.features[stepsIndex].scaling
            #expect(steps.center > 1_000 && steps.center < 20_000, "federated mean of steps \(steps.center)")

            let final = try #require(outcome.finalAccuracy)
            let central = try #require(outcome.centralizedAccuracy)
            #expect(final > 0.6)
            #expect(abs(final - central) < 0.06, "federated \(final) vs centralised \(central)")
        }
    }
}
