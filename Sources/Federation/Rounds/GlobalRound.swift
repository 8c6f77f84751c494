public import Wire

/// The global aggregator's view of one round: which shards' partials it waits for.
///
/// It closes when every shard named in the round's assignment has reported, or at the deadline
/// with whatever arrived; a shard that died is simply reported missing.
public struct GlobalRound: Sendable {
    public let roundId: Int
    public let modelVersion: Int
    public let expectedShards: Set<String>
    public private(set) var reported: [String] = []
    private var closed = false

    public init(roundId: Int, modelVersion: Int, expectedShards: some Sequence<String>) {
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.expectedShards = Set(expectedShards)
    }

    public enum PartialAdmission: Sendable, Equatable {
        case accept(complete: Bool)
        case reject(RejectReason)
    }

    /// Takes a shard's partial once, for this round only.
    public mutating func partialReceived(shard: String, roundId: Int, modelVersion: Int) -> PartialAdmission {
        guard !closed else { return .reject(.roundClosed) }
        guard roundId == self.roundId, modelVersion == self.modelVersion else { return .reject(.staleRound) }
        guard expectedShards.contains(shard) else { return .reject(.unknownSender) }
        guard !reported.contains(shard) else { return .reject(.duplicate) }
        reported.append(shard)
        return .accept(complete: Set(reported) == expectedShards)
    }

    public mutating func close() { closed = true }
    public var isClosed: Bool { closed }
    public var missing: [String] { expectedShards.subtracting(reported).sorted() }
}
