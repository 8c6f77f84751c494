import FedPulseTestSupport
import Foundation
import Runtime
import Testing

extension EndToEndTests {
    /// `fedpulse demo --secure-aggregation --dp skellam` as a user runs it (the binary, its own
    /// child processes, CURVE on, the demo's default Skellam numbers): every round is
    /// secure-aggregated with Skellam noise, and the report and the ledger say so.
    @Suite(.timeLimit(.minutes(2)))
    struct SkellamSecAggDemoTests {
        @Test func theSkellamDemoRunsAndItsLedgerChargesEveryRoundAtItsRecords() async throws {
            let run = try await DemoCommand.run(
                "skellam-demo",
                [
                    "--secure-aggregation", "--dp", "skellam", "--rounds", "2", "--devices-per-class", "6",
                    "--round-timeout-ms", "8000", "--secagg-stage-timeout-ms", "1500", "--no-compare-non-private",
                ]
            )
            let (status, output, report) = (run.status, run.output, run.report)
            #expect(status == 0, "\(output)")
            #expect(output.contains("Skellam noise on the devices"))
            #expect(output.contains("chain verified"), "\(output)")

            let csv = try String(contentsOf: report.appendingPathComponent("metrics.csv"), encoding: .utf8)
            let rows = csv.split(separator: "\n").dropFirst()
            #expect(rows.count == 2)
            #expect(rows.allSatisfy { $0.contains("3 shards SecAgg+") }, "\(csv)")

            let ledger = try String(contentsOf: report.appendingPathComponent("ledger.jsonl"), encoding: .utf8)
            let entries = ledger.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            let approvals = entries.filter { $0["kind"] as? String == "approve" }
            let completions = entries.filter { $0["kind"] as? String == "complete" }
            #expect(approvals.count == 2 && completions.count == 2)
            for approval in approvals {
                let mechanism = try #require(approval["mechanism"] as? [String: Any])
                #expect(mechanism["placement"] as? String == "skellam")
                let skellam = try #require(mechanism["skellam"] as? [String: Any])
                #expect(skellam["minimumSurvivors"] as? Int == 3, "half of a class's 6 devices")
            }
            for completion in completions {
                let records = try #require(completion["secureAggregation"] as? [[String: Any]])
                #expect(records.count == 3, "one record per shard")
                #expect(records.allSatisfy { ($0["survivors"] as? Int ?? 0) >= 3 })
            }

            // The report carries what the ledger charged at completion, not the approval's bound.
            let settled = completions.compactMap { entry in
                [entry["epsilonRDP"], entry["epsilonPLD"]].compactMap { $0 as? Double }.min()
            }
            let reported = rows.compactMap { row in
                row.split(separator: ",", omittingEmptySubsequences: false).dropFirst(13).first.flatMap { Double($0) }
            }
            #expect(settled.count == 2 && reported.count == 2, "\(csv)")
            for (value, charged) in zip(reported, settled) { #expect(abs(value - charged) < 1e-9, "\(csv)") }
            let approved = approvals.compactMap { $0["epsilonRDP"] as? Double }
            #expect(
                zip(approved, settled).allSatisfy { $0 > $1 },
                "six survivors add more noise than the three approved"
            )
            #expect(output.contains("ε settled on the survivors"), "\(output)")
        }

        /// Skellam noise protects a device only inside a secure-aggregated sum: without
        /// `--secure-aggregation` the coordinator and the demo refuse to start, as they do a
        /// Gaussian z beside μ.
        @Test func skellamWithoutSecureAggregationOrWithAGaussianZIsRefusedAtStart() async throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fedpulse-e2e/skellam-refusal-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
            )
            let children = try ChildProcesses(executable: try FedPulseBinary.locate(), logDirectory: root)
            defer { children.stopAll() }
            let skellam = [
                "--dp", "skellam", "--clip", "0.5", "--skellam-scale", "2048", "--skellam-variance", "1000",
                "--skellam-min-survivors", "4",
            ]
            let coordinator = [
                "coordinator", "--auditor-events", "tcp://127.0.0.1:1", "--auditor-ledger", "tcp://127.0.0.1:2",
                "--state-dir", root.appendingPathComponent("state").path, "--insecure",
            ]
            let cases: [(String, [String], String)] = [
                ("coordinator-plain", coordinator + skellam, "add --secure-aggregation"),
                ("demo-plain", ["demo", "--dp", "skellam", "--report-dir", root.path], "add --secure-aggregation"),
                (
                    "coordinator-z", coordinator + skellam + ["--secure-aggregation", "--noise-multiplier", "1"],
                    "not --noise-multiplier"
                ),
            ]
            for (name, arguments, expected) in cases {
                let child = try children.launch(name: name, arguments: arguments)
                let status = await children.waitForExit(child, timeout: .seconds(30))
                let output = (try? String(contentsOf: child.logFile, encoding: .utf8)) ?? ""
                #expect(status == 64, "\(name): \(output)")
                #expect(output.contains(expected), "\(name): \(output)")
            }
        }
    }
}
