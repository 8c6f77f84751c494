import FedPulseTestSupport
import Foundation
import Privacy
import Testing

extension PrivacyEndToEndTests {
    /// A ledger with `skellam` rounds still verifies with `audit verify`, and the compliance
    /// report says which rounds were secure-aggregated and with what parameters.
    @Suite(.timeLimit(.minutes(1)))
    struct SkellamLedgerCLITests {
        static func ledger(in directory: URL) throws -> (ledger: URL, publicKey: URL) {
            let key = try #require(LedgerSigningKey(rawRepresentation: Array(repeating: 9, count: 32)))
            var (auditor, header) = try PrivacyAuditor.start(
                configuration: AuditorConfiguration(epsilonBudget: 50, delta: 1e-5),
                participationSalt: String(repeating: "ab", count: 32),
                signingKey: key
            )
            var lines = [header]
            let skellam = SkellamProposal(
                scale: 64,
                deviceVariance: 400,
                dimension: 1_024,
                valueBits: 14,
                roundingBeta: SkellamParameters.standardRoundingBeta,
                minimumSurvivors: 10
            )
            let proposal = RoundProposal(
                roundID: 1,
                samplingRate: 0.1,
                noiseMultiplier: 1,
                clipNorm: 1,
                placement: .skellam,
                expectedCohort: 20,
                cohortBound: 200,
                skellam: skellam
            )
            lines += [try #require(auditor.proposalReceived(proposal).ledgerLine)]
            let records = [(0, 15), (1, 10)].map { shard, survivors in
                SecAggShardRecord(
                    deviceClass: "watch",
                    shard: shard,
                    survivors: survivors,
                    advertised: survivors + 2,
                    degree: 8,
                    threshold: 5,
                    modulusBits: 20,
                    valueBits: 14
                )
            }
            let report = RoundReport(
                roundID: 1,
                participantsByClass: ["watch": 25],
                modelHash: String(repeating: "c", count: 64),
                secureAggregation: records
            )
            let completion = auditor.roundCompleted(report)
            guard case .record(let line, _, _, _, _) = completion else {
                Issue.record("the completion was not recorded: \(completion)")
                return (directory, directory)
            }
            lines.append(line)
            let ledger = directory.appendingPathComponent("ledger.jsonl")
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: ledger)
            let publicKey = directory.appendingPathComponent("ledger.jsonl.key.pub")
            try Data((key.publicKey.hex + "\n").utf8).write(to: publicKey)
            return (ledger, publicKey)
        }

        @Test func verifyAndReportCoverSkellamRounds() async throws {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("fedpulse-skellam-ledger-\(UInt64.random(in: 0...UInt64.max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let (ledger, publicKey) = try Self.ledger(in: directory)
            let verify = try await PrivacyEndToEndTests.fedpulse([
                "audit", "verify", ledger.path, "--public-key", publicKey.path,
            ])
            #expect(verify.status == 0, "\(verify.text)")
            let report = try await PrivacyEndToEndTests.fedpulse([
                "audit", "report", ledger.path, "--out", directory.path, "--public-key", publicKey.path,
            ])
            #expect(report.status == 0, "\(report.text)")
            let markdown = try String(
                contentsOf: directory.appendingPathComponent("compliance-report.md"),
                encoding: .utf8
            )
            #expect(markdown.contains("## Secure aggregation"))
            #expect(markdown.contains("watch/0 15 of 17 (k 8, t 5, 20 bits), watch/1 10 of 12"), "\(markdown)")
            #expect(markdown.contains("n ≥ 10, accounted at 10 survivors"), "\(markdown)")
            #expect(markdown.contains("Skellam rounds:"))
        }
    }
}
