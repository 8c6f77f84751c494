import Foundation
public import Learning
import Rounds
public import Wire

/// The coordinator's checkpoint file (`checkpoint.json`) as tools and tests read it.
///
/// The coordinator itself reads and writes ``Rounds/CoordinatorProgress``, the state its round
/// machine owns; this type decodes the same JSON for readers outside the coordinator. Written
/// atomically whenever a restart must not lose a change, so a coordinator killed at any moment
/// resumes at the first round not yet completed, with that round's input model, and never
/// reuses a round id.
public struct CoordinatorCheckpoint: Codable, Sendable, Equatable {
    public var completedRounds: Int
    /// The next round id to use; ids of failed, denied or retried attempts are never reused.
    public var nextRoundId: Int
    public var modelVersion: Int
    public var spec: ModelSpec
    public var weights: [Float]
    public var history: [RoundRecord]
    /// Per-run salt of the participant hashes sent to the auditor: ids never leave in clear.
    public var participationSalt: String
    /// Contributions per device, keyed by the salted hash of its id (for the participation cap).
    public var participation: [String: Int] = [:]
    /// The noise multiplier once calibrated from a target ε, so a restart keeps it.
    public var calibratedNoiseMultiplier: Double?
    /// Whether the federated feature statistics have been folded into `spec`.
    public var statisticsDone = false
    /// Completions the auditor has not yet recorded, re-sent until it has.
    public var unacknowledgedCompletions: [RoundCompleted] = []

    static let fileName = "checkpoint.json"

    static func url(in directory: String) -> URL {
        URL(fileURLWithPath: directory).appendingPathComponent(fileName)
    }

    /// The saved progress in `directory`, nil when there is none yet.
    static func load(from directory: String) throws -> CoordinatorProgress? {
        let url = url(in: directory)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONDecoder().decode(CoordinatorProgress.self, from: Data(contentsOf: url))
    }

    static func save(_ progress: CoordinatorProgress, to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(progress), to: url(in: directory))
    }
}

/// One completed round as the coordinator saw it: the row of the demo's table and metrics CSV,
/// and the body of the `round.summary` it broadcasts (one type, so the two cannot drift apart).
public typealias RoundRecord = RoundSummary
