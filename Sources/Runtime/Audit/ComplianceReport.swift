public import Foundation
public import Privacy

/// The compliance report of a run's ledger: what a GDPR or HIPAA auditor asks to see — the
/// mechanisms and their parameters, ε(δ) after every round, participation, and the safeguards.
public struct ComplianceReport: Sendable {
    let rows: [LedgerRow]
    let verification: LedgerVerification
    let ledgerPath: String
    /// Whether the signatures were checked (a public key was given).
    let signaturesChecked: Bool
    /// The transport security the run's processes used (`curve`, `insecure`), when known.
    public var transport: String?

    /// Reads and verifies a ledger (with `publicKey`, every signature too); the report states the
    /// verification result either way.
    public init(ledgerPath: String, publicKey: LedgerPublicKey? = nil) throws {
        let contents = try String(contentsOfFile: ledgerPath, encoding: .utf8)
        let lines = LedgerChain.lines(fromFileContents: contents)
        verification = LedgerChain.verify(lines: lines, publicKey: publicKey)
        rows = lines.compactMap { try? LedgerChain.decode($0) }.map(LedgerRow.init)
        self.ledgerPath = ledgerPath
        signaturesChecked = publicKey != nil
    }

    /// Writes `compliance-report.md` and `compliance-report.html` into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(markdown().utf8).write(to: directory.appendingPathComponent("compliance-report.md"), options: .atomic)
        try Data(html().utf8).write(to: directory.appendingPathComponent("compliance-report.html"), options: .atomic)
    }

    /// What the run spent: the running total at the ledger's last decision, which counts every
    /// approved round (a round is spent at approval, completed or not), not just the completed ones.
    public func spent(delta: Double, budget: Double) -> PrivacySpent? {
        guard let last = headline, let epsilon = last.epsilon else { return nil }
        let accountant = (last.epsilonPLD.map { $0 <= (last.epsilonRDP ?? .infinity) } ?? false) ? "pld" : "rdp"
        return PrivacySpent(
            epsilon: epsilon,
            epsilonRDP: last.epsilonRDP,
            epsilonPLD: last.epsilonPLD,
            delta: delta,
            budget: budget,
            accountant: accountant,
            ledger: ledgerPath,
            ledgerVerified: verification.isValid
        )
    }

    /// The running ε the ledger settled at each round's completion, by round id.
    ///
    /// A round is approved against its planned cohort (for Skellam, the fewest survivors a shard
    /// may release), then charged at completion for what was really added; the second figure is
    /// the one that counts. It can be higher as well as lower: distributed noise from fewer
    /// devices than expected protects less than the approval assumed.
    public var settledEpsilonByRound: [Int: Double] {
        var settled: [Int: Double] = [:]
        for row in completed {
            if let round = row.round, let epsilon = row.epsilon { settled[round] = epsilon }
        }
        return settled
    }

    private var completed: [LedgerRow] { rows.filter { $0.kind == "complete" } }
    /// The last entry after the header: every entry repeats the totals over all approved rounds.
    private var headline: LedgerRow? { rows.last { $0.kind != "header" } }
    private var approvedCount: Int { rows.filter { $0.kind == "approve" }.count }
    private var header: LedgerRow? { rows.first { $0.kind == "header" } }

    private var integrity: String {
        if let problem = verification.firstProblem {
            return "FAILED — entry \(problem.index) is \(problem.reason.rawValue); the figures below cannot be trusted."
        }
        let signatures =
            signaturesChecked
            ? "every entry signed by the auditor's key" : "signatures NOT checked (no public key given)"
        return
            "verified — \(verification.entryCount) entries, hash chain intact, \(signatures), head \(verification.headHash)."
    }

    private var safeguards: [String] {
        let placements = Set(completed.compactMap(\.placement))
        let transportLine: String =
            switch transport {
            case "curve"?:
                "Transport: ZeroMQ CURVE on every socket (encrypted, mutually authenticated); one ZAP handler per process admits only the keys in the enrolment file, and every message's sender must be its connection's enrolled name."
            case "insecure"?:
                "Transport: INSECURE — the run used --insecure: nothing was encrypted or authenticated, so the figures below hold only if nobody else could reach the sockets."
            default: "Transport: not recorded for this report."
            }
        return [
            transportLine,
            "Raw records never leave the device: workers send only model deltas (clipped, noised as configured).",
            "Each update is clipped to an L2 norm C before aggregation; clipped updates are counted per round below.",
            "Gaussian noise placement: \(placements.isEmpty ? "none recorded" : placements.sorted().joined(separator: ", ")); under DP every client weighs the same and the denominator is fixed (DP-FedAvg).",
            "Every round is approved by the auditor before it starts and counted as spent at approval; a round over budget is denied.",
            "Accounting: Rényi DP of the Poisson-subsampled Gaussian mechanism (Mironov et al. 2019) with the Canonne–Kamath–Steinke conversion, and a privacy-loss-distribution accountant; the enforced ε is the tighter of the two.",
            "Only the coordinator's proposals and completions count; the auditor approves only the next round id, never a completed or denied one again, and only inside its policy (q, z, C, placement, cohort).",
            "Participants are recorded by class, and devices only as hashes salted with the ledger's own salt, in completion entries.",
            "The ledger is append-only JSON lines, each entry holding the SHA-256 of the previous one and the auditor's Ed25519 signature of its own digest, fsynced before the verdict is sent.",
            "Under local noise, ε against the aggregator (which sees each noised update and its sender) is recorded per device, without amplification by sampling; the ε above holds against observers of the model.",
        ] + (placements.contains("skellam") ? [Self.skellamSafeguard] : [])
    }

    static let skellamSafeguard =
        "Skellam rounds: devices round to integers and add Skellam noise before secure aggregation; each shard's sum is released on its own, so a round is accounted (Rényi DP, Agarwal–Kairouz–Liu 2021 Thm 3.5, Zhu–Wang 2019 subsampling; no PLD) with the noise of the weakest shard's securely counted survivors less the device itself, charged at the proposal's minimum on approval."

    func markdown() -> String {
        var text = "# FedPulse privacy compliance report\n\n"
        text += "- Ledger: `\(ledgerPath)`\n- Integrity: \(integrity)\n"
        if let header { text += "- Budget: ε ≤ \(header.budget) at δ = \(header.delta)\n" }
        if let headline, let epsilon = headline.epsilon {
            text +=
                "- Spent: ε = \(String(format: "%.4f", epsilon)) over \(approvedCount) approved rounds (\(completed.count) completed), against observers of the model\n"
        }
        if let local = completed.last(where: { $0.epsilonLocalWorstDevice != nil }),
            let worst = local.epsilonLocalWorstDevice
        {
            text +=
                "- Against the aggregator (local noise): the worst device's ε = \(String(format: "%.4f", worst)) over its \(local.localRoundsWorstDevice ?? 0) rounds, no amplification by sampling\n"
        }
        var participation: [String: Int] = [:]
        for row in completed { for hash in row.participantHashes ?? [] { participation[hash, default: 0] += 1 } }
        if let most = participation.values.max() {
            text +=
                "- Participation: \(participation.count) distinct devices (salted hashes); the most any device contributed to is \(most) completed rounds\n"
        }
        let secured = completed.filter { !($0.secureAggregation ?? []).isEmpty }
        if !secured.isEmpty {
            text += "\n## Secure aggregation\n\n"
            for row in secured {
                let numbers =
                    row.skellam.map {
                        "; Skellam \($0), accounted at \(row.survivors.map { "\($0)" } ?? "-") survivors"
                    } ?? ""
                text +=
                    "- Round \(row.round.map { "\($0)" } ?? "-"): \((row.secureAggregation ?? []).joined(separator: ", "))\(numbers)\n"
            }
        }
        text += "\n## Safeguards in force\n\n" + safeguards.map { "- \($0)" }.joined(separator: "\n") + "\n"
        text +=
            "\n## Rounds\n\n| seq | kind | round | participants (w/p/t) | q | z | z effective | C | placement | ε (RDP) | ε (PLD) | clipped | rejected |\n"
        text += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for row in rows where row.kind != "header" {
            let classes = ["watch", "phone", "tablet"].map { "\(row.participantsByClass?[$0] ?? 0)" }.joined(
                separator: "/"
            )
            let rejected = (row.rejectedByReason ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", ")
            text +=
                "| \(row.sequence) | \(row.kind) | \(row.round.map { "\($0)" } ?? "") | \(row.participantsByClass == nil ? "" : classes) "
            text +=
                "| \(format(row.samplingRate)) | \(format(row.noiseMultiplier)) | \(format(row.effectiveNoiseMultiplier)) | \(format(row.clipNorm)) "
            text +=
                "| \(row.placement ?? "") | \(format(row.epsilonRDP)) | \(format(row.epsilonPLD)) | \(row.clippedUpdates.map { "\($0)" } ?? "") | \(rejected) |\n"
        }
        return text
    }

    func html() -> String {
        let points = completed.compactMap { row in
            row.epsilon.flatMap { epsilon in row.round.map { (Double($0), epsilon) } }
        }
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
