import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Wire

/// A ``Hierarchy`` of real processes plus a privacy auditor on fixed (free) endpoints, so the
/// auditor can be killed and restarted where the coordinator expects it; with a broadcast observer
/// and a follower of the auditor's ledger PUB, both connected before anything starts.
final class PrivateHierarchy: Sendable {
    let hierarchy: Hierarchy
    let observer: BroadcastObserver
    let follower: LedgerFollower
    /// The auditor's events PULL (proposals, completions).
    let auditorEvents: String
    /// The auditor's ledger PUB (verdicts, ledger lines).
    let auditorLedger: String
    let ledgerFile: URL
    /// The auditor's Ed25519 key (created by the first auditor) and its public half.
    let signingKeyFile: URL
    var publicKeyFile: URL { URL(fileURLWithPath: signingKeyFile.path + ".pub") }

    private init(
        hierarchy: Hierarchy,
        observer: BroadcastObserver,
        follower: LedgerFollower,
        events: String,
        ledger: String
    ) {
        self.hierarchy = hierarchy
        self.observer = observer
        self.follower = follower
        auditorEvents = events
        auditorLedger = ledger
        ledgerFile = hierarchy.directory.appendingPathComponent("ledger.jsonl")
        signingKeyFile = hierarchy.directory.appendingPathComponent("keys/auditor.key")
    }

    /// Builds the hierarchy, runs `body`, and always stops every process and follower; an error
    /// comes back with the tail of every process log.
    static func run<T: Sendable>(_ name: String, _ body: (PrivateHierarchy) async throws -> T) async throws -> T {
        let hierarchy = try Hierarchy(name: "privacy-\(name)")
        let ports = try FreePorts.pick(2)
        let events = "tcp://127.0.0.1:\(ports[0])"
        let ledger = "tcp://127.0.0.1:\(ports[1])"
        let observer = try await hierarchy.observer()
        let follower: LedgerFollower
        do {
            follower = try await LedgerFollower(endpoint: ledger)
        } catch {
            await observer.stop()
            throw error
        }
        let setup = PrivateHierarchy(
            hierarchy: hierarchy,
            observer: observer,
            follower: follower,
            events: events,
            ledger: ledger
        )
        do {
            let result = try await hierarchy.diagnosing { try await body(setup) }
            await setup.stop()
            return result
        } catch {
            await setup.stop()
            throw error
        }
    }

    private func stop() async {
        await hierarchy.shutdown()
        await observer.stop()
        await follower.stop()
    }

    // MARK: Auditor

    /// Starts `fedpulse auditor` on this hierarchy's endpoints, ledger file and key. `pld` 0 turns
    /// the PLD accountant off (fast in debug builds); otherwise it is the PLD grid step.
    ///
    /// `minNoiseMultiplier` defaults to 0, admitting any z: tests that do not exercise the policy
    /// choose z for what they measure (the poisoned-update test runs z = 0.01 to keep noise out of
    /// its measurement). `events`/`ledger` override the endpoints (a second auditor).
    @discardableResult
    func startAuditor(
        name: String = "auditor",
        budget: Double,
        delta: Double,
        accountant: String = "rdp",
        pld: Double = 0,
        minNoiseMultiplier: Double = 0,
        events: String? = nil,
        ledger: String? = nil
    ) throws -> ChildProcesses.Child {
        try hierarchy.children.launch(
            name: name,
            arguments: [
                "auditor", "--events", events ?? auditorEvents, "--ledger", ledger ?? auditorLedger, "--ledger-file",
                ledgerFile.path,
                "--epsilon-budget", "\(budget)", "--delta", "\(delta)", "--accountant", accountant,
                "--pld-discretization", "\(pld)", "--signing-key", signingKeyFile.path,
                "--min-noise-multiplier", "\(minNoiseMultiplier)",
            ]
        )
    }

    // MARK: Ledger

    /// The ledger file's lines as they are on disk now.
    func ledgerLines() throws -> [String] {
        LedgerChain.lines(fromFileContents: try String(contentsOf: ledgerFile, encoding: .utf8))
    }

    /// The ledger file's entries (every line must decode).
    func ledgerEntries() throws -> [LedgerEntry] {
        try ledgerLines().map { try LedgerChain.decode($0) }
    }

    /// Waits for the auditor to record the `complete` entry of every round the coordinator
    /// summarised; `run.end` can overtake the last `round.completed` on its way to the auditor.
    ///
    /// Every line is appended to the file before it is published, so each `ledger.entry` seen on
    /// the PUB is the moment to look at the file again. The file, not the stream, is what counts:
    /// a SUB that has just reconnected to a restarted auditor misses its first lines (PUB/SUB's
    /// slow joiner), which the file still has.
    func waitForCompletions(of roundIds: [Int], within timeout: Duration) async throws {
        let file = ledgerFile
        let wanted = Set(roundIds)
        _ = try await follower.log.first(
            within: timeout,
            "complete entries of rounds \(roundIds.sorted()) in \(file.path)"
        ) { _ -> Bool? in
            guard let contents = try? String(contentsOf: file, encoding: .utf8) else { return nil }
            let completed = LedgerChain.lines(fromFileContents: contents).compactMap { try? LedgerChain.decode($0) }
                .filter { $0.kind == .complete }.compactMap(\.round)
            return wanted.isSubset(of: Set(completed)) ? true : nil
        }
    }

    // MARK: Logs

    /// How often `text` occurs in a child's log so far.
    func occurrences(of text: String, in child: ChildProcesses.Child) -> Int {
        let log = (try? String(contentsOf: child.logFile, encoding: .utf8)) ?? ""
        return log.components(separatedBy: text).count - 1
    }

    /// Waits until `text` occurs more than `count` times in a child's log.
    ///
    /// A log line is the only outward sign of some states (the coordinator waiting for a verdict),
    /// so this re-reads the log every 50 ms until the line appears or `timeout` passes: a bounded
    /// wait on a condition, not a sleep standing in for one.
    func waitForLog(
        _ text: String,
        in child: ChildProcesses.Child,
        moreThan count: Int,
        within timeout: Duration
    ) async throws {
        try await Poll.require("\"\(text)\" in \(child.name)'s log", within: timeout) {
            occurrences(of: text, in: child) > count
        }
    }
}
