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
            let root = FileManager.default.temporaryDirectory.appendingPathComponent(
                "fedpulse-e2e/skellam-demo-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
            )
            let report = root.appendingPathComponent("report")
            let children = try ChildProcesses(executable: try FedPulseBinary.locate(), logDirectory: root)
            defer { children.stopAll() }
            let demo = try children.launch(
                name: "demo",
                arguments: [
                    "demo", "--secure-aggregation", "--dp", "skellam", "--rounds", "2", "--devices-per-class", "6",
                    "--round-timeout-ms", "8000", "--secagg-stage-timeout-ms", "1500", "--no-compare-non-private",
                    "--report-dir", report.path,
                ]
            )
            let status = await children.waitForExit(demo, timeout: .seconds(90))
            let output = (try? String(contentsOf: demo.logFile, encoding: .utf8)) ?? ""
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
        }
    }
}
