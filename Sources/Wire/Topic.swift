/// The ASCII name in frame 0 of every FedPulse message.
///
/// An open set in style (a struct with static members, not an enum) so that a newer peer's
/// topic is a value the runtime can log and count, not a decoding crash. SUB sockets filter on
/// the topic by prefix; no known topic is a prefix of another, so subscribing to one topic
/// never delivers another.
public struct Topic: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    /// Edge worker → coordinator PULL: eligibility and data counts.
    public static let checkin = Topic(rawValue: "checkin")
    /// Aggregator → coordinator PULL: registration and heartbeat.
    public static let aggregatorHello = Topic(rawValue: "aggregator.hello")
    /// Coordinator PUB: a round, its model and its shard assignment.
    public static let roundOpen = Topic(rawValue: "round.open")
    /// Edge worker → shard PULL: one clipped model delta (or statistics).
    public static let update = Topic(rawValue: "update")
    /// Region shard → global PULL: the sum of a shard's updates.
    public static let partial = Topic(rawValue: "partial")
    /// Global aggregator → coordinator PULL: the next model.
    public static let modelCandidate = Topic(rawValue: "model.candidate")
    /// Any role → auditor PULL: what was accepted, rejected or noised.
    public static let auditEvent = Topic(rawValue: "audit.event")
    /// Coordinator → auditor PULL: the privacy parameters of the next round.
    public static let roundProposal = Topic(rawValue: "round.proposal")
    /// Auditor PUB: approve or deny a proposed round.
    public static let roundVerdict = Topic(rawValue: "round.verdict")
    /// Coordinator → auditor PULL: what a finished round actually did.
    public static let roundCompleted = Topic(rawValue: "round.completed")
    /// Coordinator PUB: progress of a completed round, for observers.
    public static let roundSummary = Topic(rawValue: "round.summary")
    /// Auditor PUB: one ledger line, for live followers.
    public static let ledgerEntry = Topic(rawValue: "ledger.entry")
    /// Coordinator PUB: training is over.
    public static let runEnd = Topic(rawValue: "run.end")

    /// Every topic this build can decode, in a stable order (schemas/ has one file each).
    public static let known: [Topic] =
        [
            .checkin, .aggregatorHello, .roundOpen, .update, .partial, .modelCandidate,
            .auditEvent, .roundProposal, .roundVerdict, .roundCompleted, .roundSummary, .ledgerEntry, .runEnd,
        ] + secAgg

    /// The schema id a header of this topic carries, `fedpulse.<topic>.v<version>`.
    ///
    /// The version is part of the id so that a header of another version fails fast as
    /// `schemaMismatch` instead of half-decoding.
    public var schemaID: String { "fedpulse.\(rawValue).v\(schemaVersion)" }

    /// The only header version of this topic that this build reads and writes: 2 for the
    /// `secagg.*` topics, whose frames changed incompatibly when devices came to be named by
    /// their Shamir point (a `points` frame) instead of id lists; 1 for every other topic.
    var schemaVersion: Int { Topic.secAgg.contains(self) ? 2 : 1 }
}
