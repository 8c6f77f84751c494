public import Wire

/// What the coordinator's shell must do after an event, in order.
public enum CoordinatorAction: Sendable, Equatable {
    /// Publish encoded frames on the broadcast PUB (`round.open`, first time or re-published).
    case broadcast(topic: Topic, frames: [[UInt8]])
    /// Publish a completed round (after its `persist`).
    case publishSummary(RoundSummary)
    /// Announce the end of the run on the broadcast (a few times: PUB drops for late readers).
    case announceEnd(RunEnd)
    /// PUSH a proposal to the auditor.
    case sendProposal(Wire.RoundProposal)
    /// PUSH a completion to the auditor.
    case sendCompletion(RoundCompleted)
    /// Write the checkpoint atomically (ignored when the run has no state directory).
    case persist(CoordinatorProgress)
    /// Count (`fedpulse_rejected_total{reason}`) and log a refused message.
    case reject(RejectReason, sender: String, roundId: Int?, detail: String)
    /// Count a message the coordinator built but could not encode (`fedpulse_loop_failures_total`).
    case encodeFailed(topic: Topic, detail: String)
    /// Write a log line.
    case log(CoordinatorLogLine)
}

/// One log line as data, so that tests can see what an operator would read.
public struct CoordinatorLogLine: Sendable, Equatable {
    public enum Level: String, Sendable, Equatable {
        case debug, info, notice, warning
    }

    public var level: Level
    public var message: String
    /// Keys use dots (`round.id`).
    public var metadata: [String: String]

    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}

extension CoordinatorAction {
    static func info(_ message: String, _ metadata: [String: String] = [:]) -> Self {
        .log(.init(.info, message, metadata))
    }
    static func warning(_ message: String, _ metadata: [String: String] = [:]) -> Self {
        .log(.init(.warning, message, metadata))
    }
    static func notice(_ message: String, _ metadata: [String: String] = [:]) -> Self {
        .log(.init(.notice, message, metadata))
    }
    static func debug(_ message: String, _ metadata: [String: String] = [:]) -> Self {
        .log(.init(.debug, message, metadata))
    }
}
