import Foundation
import Learning
import Logging
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

        // Follow the broadcast before anything starts, so no round summary is missed.
        let context = try Context()
        let observer = try Socket(context, type: .sub)
        try observer.setLinger(0)
        try observer.subscribe(Topic.roundSummary.rawValue)
        try observer.subscribe(Topic.runEnd.rawValue)
        try observer.connect(broadcast)

        let layout = try DemoLayout(config: config)
        var privacyArguments: [String] = []
        let ledgerPath = config.reportDirectory.appendingPathComponent("ledger.jsonl").path
        let signingKeyPath = config.reportDirectory.appendingPathComponent("auditor-signing.key").path
        if let privacy = config.privacy {
            let events = "tcp://127.0.0.1:\(ports[2])"
            let ledger = "tcp://127.0.0.1:\(ports[3])"
            try? FileManager.default.removeItem(atPath: ledgerPath)
            try children.launch(
                name: "auditor",
                arguments: [
                    "auditor", "--events", events, "--ledger", ledger, "--ledger-file", ledgerPath,
                    "--epsilon-budget", "\(privacy.epsilonBudget)", "--delta", "\(privacy.delta)",
                ] + privacy.auditorArguments(keyPath: signingKeyPath, rounds: config.rounds)
            )
            privacyArguments = privacy.coordinatorArguments(events: events, ledger: ledger)
        }
        try children.launch(name: "global", arguments: ["aggregator", "--tier", "global"] + coordinatorFlags)
        for deviceClass in DemoConfig.classes {
            try children.launch(
                name: "region-\(deviceClass.rawValue)",
                arguments: ["aggregator", "--tier", "region", "--region", deviceClass.rawValue] + coordinatorFlags
            )
        }
        for edge in layout.edges {
            try children.launch(name: edge.name, arguments: ["edge"] + edge.arguments + config.learningArguments + coordinatorFlags)
        }
        let stateDirectory = config.reportDirectory.appendingPathComponent("state")
        try? FileManager.default.removeItem(at: stateDirectory)
        let coordinator = try children.launch(
            name: "coordinator",
            arguments: [
                "coordinator", "--broadcast", broadcast, "--control", controlEndpoint,
                "--rounds", "\(config.rounds)", "--wait-for-workers", "\(layout.deviceCount)",
                "--round-timeout-ms", "\(config.roundTimeoutMillis)", "--state-dir", stateDirectory.path,
            ] + layout.holdoutArguments + (config.dataDirectory == nil ? [] : ["--feature-statistics", "federated"]) + config.learningArguments + config.coordinatorArguments + privacyArguments
        )
        config.progress(Self.header)

        let clock = ContinuousClock()
        let limit = clock.now + .milliseconds(Int64(config.rounds) * (config.roundTimeoutMillis * 3) + 90_000)
        let followed = try RunFollower.follow(
            observer: observer, control: control, children: children, coordinator: coordinator, deadline: limit,
            onRound: { config.progress(Self.line($0)) }
        )
        let records = followed.rounds
        children.stopAll()
        let processes = children.all.count
        let baseline = try? layout.centralizedAccuracy(config: config)
        var spent: PrivacySpent?
        if let privacy = config.privacy, FileManager.default.fileExists(atPath: ledgerPath) {
            let publicKey = try? SigningKeyFile.publicKey(at: signingKeyPath + ".pub")
            let report = try ComplianceReport(ledgerPath: ledgerPath, publicKey: publicKey)
            try report.write(to: config.reportDirectory)
            spent = report.spent(delta: privacy.delta, budget: privacy.epsilonBudget)
        }
        let outcome = DemoOutcome(
            rounds: records, finalAccuracy: records.last?.accuracy, centralizedAccuracy: baseline,
            processes: processes, peakMemoryBytes: followed.peakMemoryBytes, endReason: followed.endReason, reportDirectory: config.reportDirectory.path, privacy: spent
        )
        try writeReport(outcome)
        return outcome
    }

    /// (Re)writes the report folder's metrics.csv, summary.json and index.html for `outcome`.
    public func writeReport(_ outcome: DemoOutcome) throws {
        try DemoReport(outcome: outcome, config: config).write()
    }

    static let header = "round  participants (w/p/t)  accuracy    loss  fed.acc  seconds   bytes up  bytes down        ε"

    static func line(_ record: RoundRecord) -> String {
        let participants = ["watch", "phone", "tablet"].map { "\(record.participants.counts[$0] ?? 0)" }.joined(separator: "/")
        func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        return [
            String(format: "%5d", record.round), participants.padding(toLength: 21, withPad: " ", startingAt: 0).leftPadded(21),
            number(record.accuracy, "%8.4f"), number(record.loss, "%7.4f"), number(record.federatedAccuracy, "%8.4f"),
            String(format: "%8.3f", record.seconds), "\(record.bytesUp)".leftPadded(10), "\(record.bytesDown)".leftPadded(11),
            number(record.epsilon, "%8.4f"),
        ].joined(separator: "  ")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
