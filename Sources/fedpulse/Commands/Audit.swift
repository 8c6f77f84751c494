import ArgumentParser
import Foundation
import Privacy
import Runtime
import Synchronization
import UnixSignals

extension FedPulse {
    /// Reading the privacy ledger: verify it, follow it live, or turn it into a report.
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify, follow or report on the privacy ledger.",
            subcommands: [Verify.self, Tail.self, Report.self]
        )

        struct Verify: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check a ledger's hash chain and signatures; exits non-zero and names the first bad entry.",
                discussion: """
                    Without --public-key only the chain is checked: that catches an edited, dropped or \
                    reordered entry, but not a forger who recomputes every digest and link after an edit. \
                    With the auditor's public key (its --signing-key FILE.pub, obtained from the auditor, \
                    not from the ledger) every entry must carry that key's signature.
                    """
            )

            @Argument(help: "The ledger file (JSON lines).")
            var ledger: String

            @Option(help: "The auditor's Ed25519 public key file (64 hex digits, the .pub beside its --signing-key).")
            var publicKey: String?

            func run() throws {
                let key = try publicKey.map { path in
                    do { return try SigningKeyFile.publicKey(at: path) } catch { throw ValidationError("\(error)") }
                }
                let contents: String
                do {
                    contents = try String(contentsOfFile: ledger, encoding: .utf8)
                } catch {
                    throw ValidationError("cannot read \(ledger): \(error.localizedDescription)")
                }
                let verification = LedgerChain.verify(
                    lines: LedgerChain.lines(fromFileContents: contents),
                    publicKey: key
                )
                if let problem = verification.firstProblem {
                    print("FAILED: entry \(problem.index) is \(problem.reason.rawValue) (\(ledger))")
                    throw ExitCode(1)
                }
                let signatures = key.map { "every entry signed by \($0)" } ?? "signatures not checked (no --public-key)"
                print("ok: \(verification.entryCount) entries, head \(verification.headHash), \(signatures)")
            }
        }

        struct Tail: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Follow the auditor's ledger live: one row per entry (round, participants, q, z, C, ε spent, budget left, status)."
            )

            @Option(help: "The auditor's ledger PUB endpoint.")
            var connect: String = "tcp://127.0.0.1:7301"

            @Flag(help: "One JSON object per line instead of a table.")
            var json = false

            @Option(help: "Exit after this many entries.")
            var maxEntries: Int?

            @OptionGroup var security: SecurityOptions

            @Option(help: "Follow the auditor of this lab topology (its ledger endpoint; under CURVE the observer key that `lab up` made).")
            var topology: String?

            @Option(help: "With --topology: the lab's operator folder (default fedpulse-lab-NAME, as `lab up` uses).")
            var folder: String?

            func validate() throws {
                if topology != nil && (security.curveSecretKey != nil || security.enrolment != nil) {
                    throw ValidationError("--topology brings its own keys; leave out --curve-secret-key and --enrolment")
                }
            }

            /// The endpoint and security to follow: from the lab topology, or from the flags.
            func source() throws -> (endpoint: String, security: TransportSecurity) {
                guard let topology else { return (connect, try security.make()) }
                let plan = LabPlan(try LabTopology.load(path: topology))
                guard let endpoint = plan.ledgerEndpoint else {
                    throw ValidationError("\(topology) runs no auditor: there is no ledger to follow")
                }
                guard plan.curve else { return (endpoint, .insecure) }
                let keys = KeyDirectory(
                    path: URL(fileURLWithPath: folder ?? "fedpulse-lab-\(plan.name)").appendingPathComponent("keys").path
                )
                return (
                    endpoint,
                    try TransportSecurity.curve(
                        secretKeyFile: keys.secretKeyPath(of: LabPlan.observerName), enrolmentFile: keys.enrolmentPath
                    )
                )
            }

            func run() async throws {
                let source = try source()
                let tail = AuditTail(endpoint: source.endpoint, maxEntries: maxEntries, security: source.security)
                let json = self.json
                if !json { emit(LedgerRow.tableHeader) }
                let runner = try RoleRunner()
                runner.start(name: "audit-tail") { control in
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    try tail.run(control) { row, problem in
                        if json {
                            if let data = try? encoder.encode(row) { emit(String(decoding: data, as: UTF8.self)) }
                        } else {
                            emit(row.tableLine)
                        }
                        if let problem { emit("WARNING: \(problem)") }
                    }
                }
                let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
                let watcher = Task {
                    for await _ in signals { runner.requestStop() }
                }
                defer { watcher.cancel() }
                try await runner.waitUntilFinished()
            }
        }

        struct Report: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a compliance report (Markdown and HTML with an ε-over-rounds chart) from a ledger."
            )

            @Argument(help: "The ledger file (JSON lines).")
            var ledger: String

            @Option(help: "Directory for compliance-report.md and compliance-report.html.")
            var out: String = "."

            @Option(help: "The auditor's Ed25519 public key file, to check every entry's signature.")
            var publicKey: String?

            func run() throws {
                let report = try ComplianceReport(
                    ledgerPath: ledger,
                    publicKey: publicKey.map(SigningKeyFile.publicKey(at:))
                )
                let directory = URL(fileURLWithPath: out, isDirectory: true)
                try report.write(to: directory)
                print(
                    "wrote \(directory.appendingPathComponent("compliance-report.md").path) and compliance-report.html"
                )
            }
        }
    }
}

/// Writes a line to standard output at once (unbuffered), so a follower sees rows as they happen
/// even when the output is a pipe.
private func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
