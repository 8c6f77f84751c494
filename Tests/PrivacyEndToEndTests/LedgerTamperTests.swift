import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Testing
import Wire

extension PrivacyEndToEndTests {
    /// `fedpulse audit verify` on a real ledger and on tampered copies of it (DESIGN.md §4).
    @Suite(.timeLimit(.minutes(2)))
    struct LedgerTamperTests {
        /// One way to tamper with a ledger file, and what verify must name.
        enum Tamper: String, CaseIterable, Sendable, CustomTestStringConvertible {
            case edited, editedAndResigned, dropped, droppedHeader, reordered, truncated

            var testDescription: String { rawValue }

            /// The tampered file contents and the expected `entry N is <reason>` of verify's output.
            func apply(to lines: [String]) throws -> (contents: String, index: Int, reason: String) {
                var lines = lines
                let victim = 2
                switch self {
                case .edited:
                    lines[victim] = try Self.lowerEpsilon(lines[victim])
                    return (Self.file(lines), victim, "edited")
                case .editedAndResigned:
                    // A careful forger recomputes the edited line's own digest; the next line's link breaks.
                    lines[victim] = try Self.resign(try Self.lowerEpsilon(lines[victim]))
                    return (Self.file(lines), victim + 1, "brokenLink")
                case .dropped:
                    lines.remove(at: victim)
                    return (Self.file(lines), victim, "dropped")
                case .droppedHeader:
                    lines.removeFirst()
                    return (Self.file(lines), 0, "dropped")
                case .reordered:
                    lines.swapAt(victim, victim + 1)
                    return (Self.file(lines), victim, "reordered")
                case .truncated:
                    let last = lines.count - 1
                    lines[last] = String(lines[last].prefix(lines[last].count / 2))
                    return (lines.joined(separator: "\n"), last, "truncated")
                }
            }

            static func file(_ lines: [String]) -> String { lines.map { $0 + "\n" }.joined() }

            /// The line with its cumulative RDP ε made smaller, as someone hiding spent budget would.
            static func lowerEpsilon(_ line: String) throws -> String {
                let entry = try LedgerChain.decode(line)
                let epsilon = try #require(entry.epsilonRDP)
                let field = try #require(line.range(of: "\"epsilonRDP\":"))
                let valueEnd = try #require(line[field.upperBound...].firstIndex { $0 == "," || $0 == "}" })
                let edited = line.replacingCharacters(in: field.upperBound..<valueEnd, with: "\(epsilon / 2)")
                try #require(edited != line)
                return edited
            }

            /// Recomputes the line's own digest (SHA-256 of the line with empty digest and signature
            /// fields), keeping the old signature.
            static func resign(_ line: String) throws -> String {
                let entry = try LedgerChain.decode(line)
                let signature = try #require(entry.signature)
                let unsigned = line.replacingOccurrences(of: "\"digest\":\"\(entry.digest)\"", with: "\"digest\":\"\"")
                    .replacingOccurrences(of: "\"signature\":\"\(signature)\"", with: "\"signature\":\"\"")
                let digest = Digest.sha256Hex(Array(unsigned.utf8))
                return unsigned.replacingOccurrences(of: "\"digest\":\"\"", with: "\"digest\":\"\(digest)\"")
                    .replacingOccurrences(of: "\"signature\":\"\"", with: "\"signature\":\"\(signature)\"")
            }
        }

        @Test func verifyPassesOnAFreshLedgerFromARun() async throws {
            let run = try await AccountedRuns.shared.run(placement: "central")
            let verified = try await PrivacyEndToEndTests.fedpulse([
                "audit", "verify", run.ledgerFile.path, "--public-key", run.publicKeyFile.path,
            ])
            #expect(verified.status == 0, "\(verified.text)")
            #expect(verified.text.hasPrefix("ok: \(run.ledgerLines.count) entries"), "\(verified.text)")
            #expect(verified.text.contains("every entry signed by"), "\(verified.text)")
        }

        /// A forger edits an entry and recomputes every digest and link after it (unsigned, or signed
        /// with a key of his own): the chain verifies, the auditor's public key does not.
        @Test(arguments: [false, true])
        func verifyWithThePublicKeyFailsOnARechainedLedger(forgerSigns: Bool) async throws {
            let run = try await AccountedRuns.shared.run(placement: "central")
            try #require(run.ledgerLines.count >= 5)
            let victim = 2
            let forgerKey = LedgerSigningKey(rawRepresentation: Array(repeating: 0x5a, count: 32))
            var chain = try LedgerChain(resumingAfter: run.ledgerLines[victim - 1])
            var lines = Array(run.ledgerLines[..<victim])
            for (offset, line) in run.ledgerLines[victim...].enumerated() {
                var entry = try LedgerChain.decode(offset == 0 ? try Tamper.lowerEpsilon(line) : line)
                entry.signature = nil
                lines.append(try chain.append(entry, signedWith: forgerSigns ? forgerKey : nil))
            }
            let copy = run.ledgerFile.deletingLastPathComponent().appendingPathComponent(
                "ledger-rechained-\(forgerSigns).jsonl"
            )
            try Data(Tamper.file(lines).utf8).write(to: copy)
            let chainOnly = try await PrivacyEndToEndTests.fedpulse(["audit", "verify", copy.path])
            #expect(chainOnly.status == 0, "the re-chained ledger should pass the chain check alone: \(chainOnly.text)")
            let signed = try await PrivacyEndToEndTests.fedpulse([
                "audit", "verify", copy.path, "--public-key", run.publicKeyFile.path,
            ])
            #expect(signed.status != 0)
            #expect(
                signed.text.contains("FAILED: entry \(victim) is \(forgerSigns ? "badSignature" : "unsigned")"),
                "\(signed.text)"
            )
        }

        @Test(arguments: Tamper.allCases)
        func verifyFailsAndNamesTheFirstBadEntry(_ tamper: Tamper) async throws {
            let run = try await AccountedRuns.shared.run(placement: "central")
            try #require(run.ledgerLines.count >= 5, "a ledger long enough to tamper with")
            let (contents, index, reason) = try tamper.apply(to: run.ledgerLines)
            let copy = run.ledgerFile.deletingLastPathComponent().appendingPathComponent(
                "ledger-\(tamper.rawValue).jsonl"
            )
            try Data(contents.utf8).write(to: copy)
            let verified = try await PrivacyEndToEndTests.fedpulse(["audit", "verify", copy.path])
            #expect(verified.status != 0)
            #expect(verified.text.contains("FAILED: entry \(index) is \(reason)"), "\(verified.text)")
        }

        /// A restarted auditor replays its ledger: a tampered one must stop it, not be trusted.
        @Test func auditorRefusesToStartFromATamperedLedger() async throws {
            let run = try await AccountedRuns.shared.run(placement: "central")
            let (contents, _, _) = try Tamper.edited.apply(to: run.ledgerLines)
            let copy = run.ledgerFile.deletingLastPathComponent().appendingPathComponent("ledger-restart-edited.jsonl")
            try Data(contents.utf8).write(to: copy)
            let ports = try FreePorts.pick(2)
            let children = try ChildProcesses(
                executable: try PrivacyEndToEndTests.binary(),
                logDirectory: copy.deletingLastPathComponent()
            )
            defer { children.stopAll(grace: .seconds(1)) }
            let key = URL(fileURLWithPath: String(run.publicKeyFile.path.dropLast(4)))
            let auditor = try children.launch(
                name: "auditor-refusing",
                arguments: [
                    "auditor", "--events", "tcp://127.0.0.1:\(ports[0])", "--ledger", "tcp://127.0.0.1:\(ports[1])",
                    "--ledger-file", copy.path, "--epsilon-budget", "1000", "--accountant", "rdp",
                    "--pld-discretization", "0",
                    "--signing-key", key.path,
                ]
            )
            let status = await children.waitForExit(auditor, timeout: .seconds(20))
            let log = (try? String(contentsOf: auditor.logFile, encoding: .utf8)) ?? ""
            #expect(status != nil && status != 0, "the auditor started on a tampered ledger:\n\(log)")
            #expect(log.contains("does not verify"), "\(log)")
            #expect(try String(contentsOf: copy, encoding: .utf8) == contents, "the refused ledger was modified")
        }
    }
}
