import FedPulseTestSupport
import Foundation
import Learning
import Synchronization
import Testing

@testable import Runtime

extension EndToEndTests {
    /// Runs a demo hierarchy (real child processes) on its own thread, as `fedpulse demo` does.
    static func runDemo(_ config: DemoConfig) async throws -> DemoOutcome {
        let runner = try RoleRunner()
        let result = Mutex<DemoOutcome?>(nil)
        runner.start(name: "e2e-demo") { control in
            let outcome = try DemoRun(config: config).run(stopWhen: control)
            result.withLock { $0 = outcome }
        }
        try await runner.waitUntilFinished()
        return try #require(result.withLock { $0 })
    }

    /// A role that cannot start ends the demo at once, naming it, instead of a silent timeout.
    @Suite(.timeLimit(.minutes(1)))
    struct DemoFailFastTests {
        @Test func childKilledAtStartByABadFlagFailsTheDemoNamingIt() async throws {
            let spec = try ModelSpec.wearable(task: .sleepQuality)
            let root = FileManager.default.temporaryDirectory
                .appendingPathComponent(
                    "fedpulse-e2e/failfast-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
                )
            var config = DemoConfig(
                executable: try FedPulseBinary.locate(),
                reportDirectory: root,
                spec: spec,
                generator: SyntheticWearables(task: .sleepQuality, seed: 5)
            )
            config.rounds = 2
            config.devicesPerClass = 2
            // Far longer than the suite may run: only failing fast ends this run in time.
            config.roundTimeoutMillis = 120_000
            config.progress = { _ in }
            config.childArguments = ["region-phone": ["--no-such-flag"]]
            let outcome = try await EndToEndTests.runDemo(config)

            #expect(outcome.endReason == "childFailed")
            let failure = try #require(outcome.failure)
            #expect(failure.child == "region-phone")
            #expect(failure.status == 64, "ArgumentParser's usage error")
            #expect(failure.lastErrorLine == "Error: Unknown option '--no-such-flag'")
            #expect(failure.logFile == root.appendingPathComponent("logs/region-phone.log").path)
            // The watch and tablet shards can finish a round before the phone shard's exit is
            // seen on a loaded machine; the run must still end long before its two rounds.
            #expect(outcome.rounds.count < config.rounds)
            #expect(outcome.centralizedAccuracy == nil, "a failed run trains no baseline")
            // The report says why the run ended (summary.json has its own shape, not DemoOutcome's).
            struct Summary: Decodable {
                var endReason: String
                var failure: ChildFailure?
            }
            let report = try JSONDecoder().decode(
                Summary.self,
                from: Data(contentsOf: root.appendingPathComponent("summary.json"))
            )
            #expect(report.endReason == "childFailed")
            #expect(report.failure == failure)
        }

        @Test func aRoleRefusingItsFlagsMakesTheDemoBinaryExitNonZeroNamingIt() async throws {
            let root = FileManager.default.temporaryDirectory
                .appendingPathComponent(
                    "fedpulse-e2e/failfast-cli-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
                )
            let children = try ChildProcesses(executable: try FedPulseBinary.locate(), logDirectory: root)
            defer { children.stopAll() }
            // Every child inherits the variable, and only the edge has --checkin-ms (at least 50).
            let demo = try children.launch(
                name: "demo",
                arguments: [
                    "demo", "--dp", "off", "--rounds", "2", "--devices-per-class", "2", "--round-timeout-ms", "120000",
                    "--report-dir", root.appendingPathComponent("report").path,
                ],
                environment: ["FEDPULSE_CHECKIN_MS": "10"]
            )
            let status = await children.waitForExit(demo, timeout: .seconds(45))
            let output = (try? String(contentsOf: demo.logFile, encoding: .utf8)) ?? ""
            #expect(status == 3, "demo output:\n\(output)")
            #expect(output.contains("error: edge-"), "demo output:\n\(output)")
            #expect(output.contains("--checkin-ms"), "the edge's own complaint is shown: \(output)")
        }

        @Test func theLastErrorLineIsTheCLIsFinalErrorElseTheLastLoggedError() {
            let cli =
                "2026-01-01T00:00:00+0000 info fedpulse.edge: edge ready\nError: device-3.csv:5:2: non-numeric value\n"
            #expect(ChildFailure.lastErrorLine(of: cli) == "Error: device-3.csv:5:2: non-numeric value")
            let logged =
                "t error fedpulse.global : bind failed: Address already in use\nt info fedpulse.global : stopping\n"
            #expect(
                ChildFailure.lastErrorLine(of: logged)
                    == "t error fedpulse.global : bind failed: Address already in use"
            )
            #expect(ChildFailure.lastErrorLine(of: "just this\n\n") == "just this")
            #expect(ChildFailure.lastErrorLine(of: "") == "(no output)")
        }
    }
}
