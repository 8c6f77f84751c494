import Foundation
import Learning
import Logging
import Privacy
import Wire
import ZeroMQ

/// Starts the whole hierarchy as separate processes on loopback, follows the rounds on the
/// coordinator's broadcast, trains the centralised baseline, and writes the report folder.
public struct DemoRun: Sendable {
    let config: DemoConfig

    public init(config: DemoConfig) {
        self.config = config
    }

    /// Runs to the end (or until `runner` is asked to stop); every child is stopped before returning.
    public func run(stopWhen control: LoopControl) throws -> DemoOutcome {
        let logs = config.reportDirectory.appendingPathComponent("logs")
        try? FileManager.default.removeItem(at: logs)
        let children = try ChildProcesses(executable: config.executable, logDirectory: logs)
        defer { children.stopAll() }
        let ports = try FreePorts.pick(4)
        let broadcast = "tcp://127.0.0.1:\(ports[0])"
        let controlEndpoint = "tcp://127.0.0.1:\(ports[1])"
        let coordinatorFlags = ["--coordinator-broadcast", broadcast, "--coordinator-control", controlEndpoint]

        let layout = try DemoLayout(config: config)
        let transport = try DemoTransport(config: config, layout: layout)

        // Follow the broadcast before anything starts, so no round summary is missed.
        let context = try Context()
        let observer = try Socket(context, type: .sub)
        try observer.setLinger(0)
        try observer.subscribe(Topic.roundSummary.rawValue)
        try observer.subscribe(Topic.runEnd.rawValue)
        try transport.observerSecurity().secureClient(observer, of: "coordinator")
        try observer.connect(broadcast)
        // A run over a data directory hands every role the demo's own spec, so the coordinator,
        // every device and the baseline read the same columns, classes and scaling.
        var specArguments: [String] = []
        if config.dataDirectory != nil {
            let specFile = config.reportDirectory.appendingPathComponent("spec.json")
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(config.spec).write(to: specFile, options: .atomic)
            specArguments = ["--spec", specFile.path]
        }
        func launch(_ name: String, _ arguments: [String], security: [String]) throws -> ChildProcesses.Child {
            try children.launch(name: name, arguments: arguments + security + (config.childArguments[name] ?? []))
        }
        var privacyArguments: [String] = []
        let ledgerPath = config.reportDirectory.appendingPathComponent("ledger.jsonl").path
        let signingKeyPath = config.reportDirectory.appendingPathComponent("auditor-signing.key").path
        if let privacy = config.privacy {
            let events = "tcp://127.0.0.1:\(ports[2])"
            let ledger = "tcp://127.0.0.1:\(ports[3])"
            try? FileManager.default.removeItem(atPath: ledgerPath)
            _ = try launch(
                "auditor",
                [
                    "auditor", "--events", events, "--ledger", ledger, "--ledger-file", ledgerPath,
                    "--epsilon-budget", "\(privacy.epsilonBudget)", "--delta", "\(privacy.delta)",
                ] + privacy.auditorArguments(keyPath: signingKeyPath, rounds: config.rounds),
                security: transport.arguments(for: "auditor")
            )
            privacyArguments = privacy.coordinatorArguments(events: events, ledger: ledger)
        }
        _ = try launch(
            "global",
            ["aggregator", "--tier", "global"] + coordinatorFlags,
            security: transport.arguments(for: "global")
        )
        for shard in config.shards {
            _ = try launch(
                shard.process,
                ["aggregator", "--tier", "region", "--region", shard.deviceClass.rawValue, "--shard", "\(shard.shard)"]
                    + coordinatorFlags,
                security: transport.arguments(for: shard.key)
            )
        }
        for edge in layout.edges {
            _ = try launch(
                edge.name,
                ["edge"] + edge.arguments + config.learningArguments + specArguments + coordinatorFlags,
                security: transport.edgeArguments(for: edge)
            )
        }
        let stateDirectory = config.reportDirectory.appendingPathComponent("state")
        try? FileManager.default.removeItem(at: stateDirectory)
        let statistics = config.effectiveScaling == .federated ? ["--feature-statistics", "federated"] : []
        let coordinator = try launch(
            "coordinator",
            [
                "coordinator", "--broadcast", broadcast, "--control", controlEndpoint,
                "--rounds", "\(config.rounds)", "--wait-for-workers", "\(layout.deviceCount)",
                "--round-timeout-ms", "\(config.roundTimeoutMillis)", "--state-dir", stateDirectory.path,
            ] + layout.holdoutArguments + statistics + config.learningArguments + specArguments
                + config.coordinatorArguments + privacyArguments,
            security: transport.arguments(for: "coordinator")
        )
        config.progress(Self.header)
        let uploads = UploadComparison(
            parameterCount: config.spec.parameterCount,
            population: layout.deviceCount,
            poisson: config.privacy != nil
        )

        let clock = ContinuousClock()
        let limit = clock.now + .milliseconds(Int64(config.rounds) * (config.roundTimeoutMillis * 3) + 90_000)
        let followed = try RunFollower.follow(
            observer: observer,
            control: control,
            children: children,
            coordinator: coordinator,
            deadline: limit,
            onRound: { config.progress(Self.line($0, uploads: uploads)) }
        )
        var records = followed.rounds
        // `run.end` can overtake the last round's completion on its way to the auditor; stopping
        // the auditor then would drop that ledger line (the report would miss the round's ε).
        if config.privacy != nil, followed.failure == nil, let last = records.last?.roundId {
            Self.waitForCompletion(ofRound: last, inLedgerAt: ledgerPath, within: .seconds(10))
        }
        // After a failure nothing is flushed that matters: stop the others within a second.
        children.stopAll(grace: followed.failure == nil ? .seconds(5) : .seconds(1))
        let processes = children.all.count
        // A failed run has nothing to compare with, and its data may be what failed.
        let baseline = followed.failure == nil ? try? layout.centralizedAccuracy(config: config) : nil
        var dataSource = config.dataSource
        if followed.failure == nil { dataSource?.rowsPerDevice = baseline?.rowsPerDevice }
        var spent: PrivacySpent?
        if let privacy = config.privacy, FileManager.default.fileExists(atPath: ledgerPath) {
            let publicKey = try? SigningKeyFile.publicKey(at: signingKeyPath + ".pub")
            var report = try ComplianceReport(ledgerPath: ledgerPath, publicKey: publicKey)
            report.transport = transport.label
            try report.write(to: config.reportDirectory)
            spent = report.spent(delta: privacy.delta, budget: privacy.epsilonBudget)
            records = Self.settling(records, with: report.settledEpsilonByRound, progress: config.progress)
        }
        let outcome = DemoOutcome(
            rounds: records,
            finalAccuracy: records.last?.accuracy,
            centralizedAccuracy: baseline?.accuracy,
            processes: processes,
            peakMemoryBytes: followed.peakMemoryBytes,
            endReason: followed.endReason,
            reportDirectory: config.reportDirectory.path,
            privacy: spent,
            scaling: config.effectiveScaling.rawValue,
            dataSource: dataSource,
            failure: followed.failure,
            transport: transport.label,
            bytesUpToF32: uploads.ratio(records)
        )
        try writeReport(outcome)
        return outcome
    }

    /// Polls the ledger file (every 50 ms, at most `within`) until it records round `round`'s
    /// completion; returns either way (a denied or failed last round has none).
    static func waitForCompletion(ofRound round: Int, inLedgerAt path: String, within limit: Duration) {
        let deadline = ContinuousClock.now + limit
        repeat {
            if let contents = try? String(contentsOfFile: path, encoding: .utf8) {
                let entries = LedgerChain.lines(fromFileContents: contents).compactMap { try? LedgerChain.decode($0) }
                if entries.contains(where: { $0.kind == .complete && $0.round == round }) { return }
            }
            Thread.sleep(forTimeInterval: 0.05)
        } while ContinuousClock.now < deadline
    }

    /// The rounds with the ε the ledger settled at completion in place of the approval's bound
    /// each round's line printed, and a line saying so when the two differ.
    static func settling(
        _ records: [RoundRecord],
        with settled: [Int: Double],
        progress: (String) -> Void
    ) -> [RoundRecord] {
        var changed = false
        let result = records.map { record in
            var record = record
            if let epsilon = settled[record.roundId] {
                changed = changed || record.epsilon.map { abs($0 - epsilon) > 1e-9 } ?? true
                record.epsilon = epsilon
            }
            return record
        }
        if changed {
            let values = result.compactMap { record in record.epsilon.map { String(format: "%.4f", $0) } }
            progress(
                "ε settled on the survivors the shards counted (the lines above show each approval's bound): "
                    + values.joined(separator: " ")
            )
        }
        return result
    }

    /// (Re)writes the report folder's metrics.csv, summary.json and index.html for `outcome`.
    public func writeReport(_ outcome: DemoOutcome) throws {
        try DemoReport(outcome: outcome, config: config).write()
    }

    static let header =
        "round  participants (w/p/t)  accuracy    loss  fed.acc  seconds   bytes up     ÷ f32  bytes down        ε"

    /// One row under ``header``; `÷ f32` is this round's bytes up against the same updates as f32.
    static func line(_ record: RoundRecord, uploads: UploadComparison) -> String {
        let participants = ["watch", "phone", "tablet"].map { "\(record.participants.counts[$0] ?? 0)" }.joined(
            separator: "/"
        )
        func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        return [
            String(format: "%5d", record.round),
            participants.padding(toLength: 21, withPad: " ", startingAt: 0).leftPadded(21),
            number(record.accuracy, "%8.4f"), number(record.loss, "%7.4f"), number(record.federatedAccuracy, "%8.4f"),
            String(format: "%8.3f", record.seconds), "\(record.bytesUp)".leftPadded(10),
            (uploads.ratio([record]).map { String(format: "%.2f×", $0) } ?? "-").leftPadded(8),
            "\(record.bytesDown)".leftPadded(11),
            number(record.epsilon, "%8.4f"),
        ].joined(separator: "  ")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
