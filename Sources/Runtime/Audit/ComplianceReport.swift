public import Foundation
import Privacy

/// The compliance report of a run's ledger: what a GDPR or HIPAA auditor asks to see — the
/// mechanisms and their parameters, ε(δ) after every round, participation, and the safeguards.
public struct ComplianceReport: Sendable {
    let rows: [LedgerRow]
    let verification: LedgerVerification
    let ledgerPath: String

    /// Reads and verifies a ledger; the report states the verification result either way.
    public init(ledgerPath: String) throws {
        let contents = try String(contentsOfFile: ledgerPath, encoding: .utf8)
        let lines = LedgerChain.lines(fromFileContents: contents)
        verification = LedgerChain.verify(lines: lines)
        rows = lines.compactMap { try? LedgerChain.decode($0) }.map(LedgerRow.init)
        self.ledgerPath = ledgerPath
    }

    /// Writes `compliance-report.md` and `compliance-report.html` into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(markdown().utf8).write(to: directory.appendingPathComponent("compliance-report.md"), options: .atomic)
        try Data(html().utf8).write(to: directory.appendingPathComponent("compliance-report.html"), options: .atomic)
    }

    /// What the ledger's last completed round says was spent (the tighter accountant enforced).
    public func spent(delta: Double, budget: Double) -> PrivacySpent? {
        guard let last = completed.last, let epsilon = last.epsilon else { return nil }
        let accountant = (last.epsilonPLD.map { $0 <= (last.epsilonRDP ?? .infinity) } ?? false) ? "pld" : "rdp"
        return PrivacySpent(
            epsilon: epsilon, epsilonRDP: last.epsilonRDP, epsilonPLD: last.epsilonPLD, delta: delta, budget: budget,
            accountant: accountant, ledger: ledgerPath, ledgerVerified: verification.isValid
        )
    }

    private var completed: [LedgerRow] { rows.filter { $0.kind == "complete" } }
    private var header: LedgerRow? { rows.first { $0.kind == "header" } }

    private var integrity: String {
        if let problem = verification.firstProblem {
            return "FAILED — entry \(problem.index) is \(problem.reason.rawValue); the figures below cannot be trusted."
        }
        return "verified — \(verification.entryCount) entries, hash chain intact, head \(verification.headHash)."
    }

    private var safeguards: [String] {
        let placements = Set(completed.compactMap(\.placement))
        return [
            "Raw records never leave the device: workers send only model deltas (clipped, noised as configured).",
            "Each update is clipped to an L2 norm C before aggregation; clipped updates are counted per round below.",
            "Gaussian noise placement: \(placements.isEmpty ? "none recorded" : placements.sorted().joined(separator: ", ")); under DP every client weighs the same and the denominator is fixed (DP-FedAvg).",
            "Every round is approved by the auditor before it starts and counted as spent at approval; a round over budget is denied.",
            "Accounting: Rényi DP of the Poisson-subsampled Gaussian mechanism (Mironov et al. 2019) with the Canonne–Kamath–Steinke conversion, and a privacy-loss-distribution accountant; the enforced ε is the tighter of the two.",
            "Participants are recorded by class only; device identities appear only as salted hashes in proposals.",
            "The ledger is append-only JSON lines, each entry holding the SHA-256 of the previous one, fsynced before the verdict is sent.",
        ]
    }

    func markdown() -> String {
        let last = completed.last ?? rows.last
        var text = "# FedPulse privacy compliance report\n\n"
        text += "- Ledger: `\(ledgerPath)`\n- Integrity: \(integrity)\n"
        if let header { text += "- Budget: ε ≤ \(header.budget) at δ = \(header.delta)\n" }
        if let last, let epsilon = last.epsilon { text += "- Spent: ε = \(String(format: "%.4f", epsilon)) after \(completed.count) completed rounds\n" }
        var participation: [String: Int] = [:]
        for row in rows { for hash in row.participantHashes ?? [] { participation[hash, default: 0] += 1 } }
        if let most = participation.values.max() {
            text += "- Participation: \(participation.count) distinct devices (salted hashes); the most any device took part in is \(most) approved rounds\n"
        }
        text += "\n## Safeguards in force\n\n" + safeguards.map { "- \($0)" }.joined(separator: "\n") + "\n"
        text += "\n## Rounds\n\n| seq | kind | round | participants (w/p/t) | q | z | z effective | C | placement | ε (RDP) | ε (PLD) | clipped | rejected |\n"
        text += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for row in rows where row.kind != "header" {
            let classes = ["watch", "phone", "tablet"].map { "\(row.participantsByClass?[$0] ?? 0)" }.joined(separator: "/")
            let rejected = (row.rejectedByReason ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            text += "| \(row.sequence) | \(row.kind) | \(row.round.map { "\($0)" } ?? "") | \(row.participantsByClass == nil ? "" : classes) "
            text += "| \(format(row.samplingRate)) | \(format(row.noiseMultiplier)) | \(format(row.effectiveNoiseMultiplier)) | \(format(row.clipNorm)) "
            text += "| \(row.placement ?? "") | \(format(row.epsilonRDP)) | \(format(row.epsilonPLD)) | \(row.clippedUpdates.map { "\($0)" } ?? "") | \(rejected) |\n"
        }
        return text
    }

    func html() -> String {
        let points = completed.compactMap { row in row.epsilon.flatMap { epsilon in row.round.map { (Double($0), epsilon) } } }
        let body = markdown()
            .replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>FedPulse compliance report</title>
            <style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px}pre{white-space:pre-wrap}</style></head><body>
            <h1>FedPulse privacy compliance report</h1>
            <h2>ε spent after each round (budget dashed)</h2>
            \(SVGChart(points: points, reference: header?.budget, referenceLabel: "budget", label: "epsilon").render())
            <pre>\(body)</pre>
            </body></html>
            """
    }

    private func format(_ value: Double?) -> String { value.map { String(format: "%.4g", $0) } ?? "" }
}
