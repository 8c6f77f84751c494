import FedPulseTestSupport
import Foundation
import Runtime
import Testing

extension EndToEndTests {
    /// `fedpulse demo --shards-per-class 2` starts two regional aggregators per class, each with
    /// its own enrolled key, and the coordinator spreads every class's devices over both: under
    /// secure aggregation each round reports one SecAgg+ instance per shard.
    @Suite(.timeLimit(.minutes(2)))
    struct DemoShardsTests {
        @Test func twoShardsPerClassEachSecureAggregateTheirShareOfTheDevices() async throws {
            let run = try await DemoCommand.run(
                "demo-shards",
                [
                    "--secure-aggregation", "--dp", "off", "--shards-per-class", "2", "--rounds", "2",
                    "--devices-per-class", "16", "--round-timeout-ms", "8000", "--secagg-stage-timeout-ms", "1500",
                ]
            )
            let (status, output, report) = (run.status, run.output, run.report)
            #expect(status == 0, "\(output)")
            #expect(output.contains("6 shards SecAgg+"), "\(output)")
            #expect(output.contains("48 of 48 survived"), "\(output)")
            for deviceClass in ["watch", "phone", "tablet"] {
                let second = report.appendingPathComponent("logs/region-\(deviceClass)-1.log")
                let log = (try? String(contentsOf: second, encoding: .utf8)) ?? ""
                let opened = log.split(separator: "\n").filter {
                    $0.contains("secagg stage opened") && $0.contains("shard=\(deviceClass)/1")
                }
                #expect(!opened.isEmpty, "the second \(deviceClass) shard aggregated: \(log.suffix(400))")
            }
            let enrolment = try String(contentsOf: report.appendingPathComponent("keys/enrolment.txt"), encoding: .utf8)
            #expect(enrolment.contains("region-tablet-1"), "each shard has its own enrolled key")
        }

        /// 8 devices of a class over 2 shards hash 5 and 3, and 3 devices have no SecAgg+ graph
        /// at the default rates: the coordinator folds the 3 into the other shard, so every
        /// device's update still counts and no shard fails its round.
        @Test func shardGroupsTooSmallForSecureAggregationAreFoldedNotLost() async throws {
            let run = try await DemoCommand.run(
                "demo-small-shards",
                [
                    "--secure-aggregation", "--dp", "off", "--shards-per-class", "2", "--rounds", "2",
                    "--devices-per-class", "8", "--round-timeout-ms", "8000", "--secagg-stage-timeout-ms", "1500",
                ]
            )
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output.contains("24 of 24 survived"), "\(run.output)")
            let logDirectory = run.report.appendingPathComponent("logs")
            let logs = try FileManager.default.contentsOfDirectory(atPath: logDirectory.path)
            for name in logs where name.hasPrefix("region-") {
                let log = try String(contentsOf: logDirectory.appendingPathComponent(name), encoding: .utf8)
                #expect(!log.contains("secagg round failed"), "\(name): \(log.suffix(400))")
            }
        }
    }
}
