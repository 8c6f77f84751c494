import Foundation
public import Learning
public import Wire

/// What a coordinator must remember across a restart: where the run is and the model it has.
///
/// Written atomically after every completed round, so a coordinator killed at any moment resumes
/// at the first round not yet completed, with that round's input model: no round repeated or skipped.
public struct CoordinatorCheckpoint: Codable, Sendable, Equatable {
    public var completedRounds: Int
    /// The next round id to use; ids of failed or retried attempts are never reused.
    public var nextRoundId: Int
    public var modelVersion: Int
    public var spec: ModelSpec
    public var weights: [Float]
    public var history: [RoundRecord]
    /// Per-run salt of the participant hashes sent to the auditor: ids never leave in clear.
    public var participationSalt: String
    /// Selections per device, keyed by the salted hash of its id (for the participation cap).
    public var participation: [String: Int] = [:]
    /// The noise multiplier once calibrated from a target ε, so a restart keeps it.
    public var calibratedNoiseMultiplier: Double?
    /// Whether the federated feature statistics have been folded into `spec`.
    public var statisticsDone = false
    /// Completions the auditor has not yet recorded (no `complete` ledger entry seen): re-sent
    /// until it has, across auditor and coordinator restarts, so no spent round is forgotten.
    public var unacknowledgedCompletions: [RoundCompleted] = []

    static let fileName = "checkpoint.json"

    static func load(from directory: String) throws -> CoordinatorCheckpoint? {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONDecoder().decode(CoordinatorCheckpoint.self, from: Data(contentsOf: url))
    }

    func save(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName))
    }
}

/// One completed round as the coordinator saw it: the row of the demo's table and metrics CSV,
/// and the body of the `round.summary` it broadcasts (one type, so the two cannot drift apart).
public typealias RoundRecord = RoundSummary
