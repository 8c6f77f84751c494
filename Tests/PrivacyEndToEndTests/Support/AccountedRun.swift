import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Wire

/// One DP run over real processes with both accountants on, followed by `fedpulse audit tail`
/// started before it: what the accounting and ledger tests inspect afterwards.
struct AccountedRun: Sendable {
    static let rounds = 3
    static let samplingRate = 0.5
    static let noiseMultiplier = 1.1
    static let clipNorm = 1.0
    static let pldDiscretization = 1e-4

    let placement: String
    /// The ledger file (kept in the run's scratch folder) and its lines after the run.
    let ledgerFile: URL
    let ledgerLines: [String]
    /// The auditor's public key file (`--signing-key` FILE.pub).
    let publicKeyFile: URL
    let summaries: [RoundSummary]
    let openings: [Int]
    let end: RunEnd
    /// When the test saw `run.end`.
    let endSeenAt: ContinuousClock.Instant
    /// `audit tail --json` output, line by line with arrival times, and its exit status.
    let tail: [TimedLine]
    let tailStatus: Int32
    let tailMaxEntries: Int

    /// Six watch and six phone devices over two regional shards, Poisson-sampled at q = 0.5.
    static func run(placement: String) async throws -> AccountedRun {
        try await PrivateHierarchy.run("accounting-\(placement)") { setup in
            let hierarchy = setup.hierarchy
            let delta = PrivacyEndToEndTests.delta
            try setup.startAuditor(budget: 1_000, delta: delta, accountant: "tightest", pld: pldDiscretization)
            let maxEntries = 2 * rounds
            let tail = try FollowedCommand(
                name: "audit tail",
                executable: try PrivacyEndToEndTests.binary(),
                arguments: [
                    "audit", "tail", "--connect", setup.auditorLedger, "--json", "--max-entries", "\(maxEntries)",
                ],
                stderr: hierarchy.directory.appendingPathComponent("logs/audit-tail.log")
            )
            defer { tail.kill() }
            try hierarchy.startGlobal()
            try hierarchy.startShard(region: "watch")
            try hierarchy.startShard(region: "phone")
            // Twelve devices, so that a Poisson round at q = 0.5 falls short of the minimum (and is
            // retried, its budget spent, as it must be) with probability 13/4096, not 7/64 as with six.
            try hierarchy.startEdge(name: "edge-watch", deviceClass: "watch", devices: 6, firstUser: 0)
            try hierarchy.startEdge(name: "edge-phone", deviceClass: "phone", devices: 6, firstUser: 6)
            try hierarchy.startCoordinator(
                rounds: rounds,
                waitForWorkers: 12,
                roundTimeoutMillis: PrivacyEndToEndTests.roundTimeoutMillis,
                overrides: [
                    "--dp": placement, "--clip": "\(clipNorm)", "--noise-multiplier": "\(noiseMultiplier)",
                    "--sampling-rate": "\(samplingRate)", "--delta": "\(delta)",
                    "--auditor-events": setup.auditorEvents, "--auditor-ledger": setup.auditorLedger,
                    // A lone distributed contributor is protected by no one's noise (ε = ∞): skip such rounds.
                    "--min-participants": placement == "distributed" ? "2" : "1",
                ]
            )
            let end = try await setup.observer.runEnd(within: .seconds(100))
            let endSeenAt = ContinuousClock.now
            let summaries = setup.observer.summaries
            try await setup.waitForCompletions(of: summaries.map(\.roundId), within: .seconds(20))
            let status = try await tail.waitForExit(within: .seconds(20))
            return AccountedRun(
                placement: placement,
                ledgerFile: setup.ledgerFile,
                ledgerLines: try setup.ledgerLines(),
                publicKeyFile: setup.publicKeyFile,
                summaries: summaries,
                openings: setup.observer.openings.map(\.body.roundId),
                end: end,
                endSeenAt: endSeenAt,
                tail: tail.lines.items,
                tailStatus: status,
                tailMaxEntries: maxEntries
            )
        }
    }

    var entries: [LedgerEntry] { ledgerLines.compactMap { try? LedgerChain.decode($0) } }
}

/// Each placement's run once per test process, shared by the suites that read its ledger.
actor AccountedRuns {
    static let shared = AccountedRuns()
    private var runs: [String: Task<AccountedRun, any Error>] = [:]

    func run(placement: String) async throws -> AccountedRun {
        if let existing = runs[placement] { return try await existing.value }
        let task = Task { try await AccountedRun.run(placement: placement) }
        runs[placement] = task
        return try await task.value
    }
}
