public import Wire

/// A regional shard's view of one round: which updates to take, and when to close.
///
/// Pure: the shell decodes a message, asks ``admit(workerId:roundId:modelVersion:elementCount:)``,
/// adds the accepted tensor to its running sum, then calls ``contributed(workerId:weight:)``.
/// Memory is O(members), never O(members × model): the sum lives in the shell's accumulator.
public struct ShardRound: Sendable {
    public let roundId: Int
    public let modelVersion: Int
    public let parameterCount: Int
    private let members: Set<String>
    private var answered: Set<String> = []
    private var closed = false
    public private(set) var weightSum: Double = 0
    public private(set) var contributors: [String] = []
    public private(set) var rejected: [RejectReason: Int] = [:]

    public init(roundId: Int, modelVersion: Int, members: some Sequence<String>, parameterCount: Int) {
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.members = Set(members)
        self.parameterCount = parameterCount
    }

    /// What the shard does with an update.
    public enum Admission: Sendable, Equatable {
        case accept
        case reject(RejectReason)
    }

    /// Decides whether an update belongs in this round's sum: once per member, for this round
    /// and model version, with the model's shape.
    public mutating func admit(workerId: String, roundId: Int, modelVersion: Int, elementCount: Int) -> Admission {
        let verdict: Admission
        if closed {
            verdict = .reject(roundId == self.roundId ? .roundClosed : .staleRound)
        } else if roundId != self.roundId {
            verdict = .reject(.staleRound)
        } else if modelVersion != self.modelVersion {
            verdict = .reject(.wrongModelVersion)
        } else if !members.contains(workerId) {
            verdict = .reject(.notInCohort)
        } else if answered.contains(workerId) {
            verdict = .reject(.duplicate)
        } else if elementCount != parameterCount {
            verdict = .reject(.shapeMismatch)
        } else {
            verdict = .accept
        }
        if case .reject(let reason) = verdict { rejected[reason, default: 0] += 1 }
        return verdict
    }

    /// Records an admitted update; returns `true` when every member has now answered.
    public mutating func contributed(workerId: String, weight: Double) -> Bool {
        precondition(!closed && members.contains(workerId) && !answered.contains(workerId), "contribution without admission")
        answered.insert(workerId)
        contributors.append(workerId)
        weightSum += weight
        return answered.count == members.count
    }

    /// Counts a message rejected before it could be attributed (malformed, oversized, …).
    public mutating func rejectedBeforeAdmission(_ reason: RejectReason) {
        rejected[reason, default: 0] += 1
    }

    /// Closes the round (all answered, or the deadline passed); later updates are rejected.
    public mutating func close() { closed = true }

    public var isClosed: Bool { closed }
    public var memberCount: Int { members.count }
    public var missing: Int { members.count - answered.count }
}
