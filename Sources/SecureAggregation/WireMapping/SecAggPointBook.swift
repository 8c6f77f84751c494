internal import Wire

/// Who stands behind each Shamir point of one round, as one end knows it: the shard from its
/// neighbour graph (every member), a device from its neighbour announcement (its neighbours and
/// itself). After `secagg.neighbours`, the messages name devices by these points, four bytes in
/// a frame, instead of by ids in the header.
public struct SecAggPointBook: Sendable, Equatable {
    private var idsByPoint: [UInt32: String] = [:]
    private var pointsById: [String: UInt32] = [:]

    /// A book that knows nobody (a round that never started: every point is unknown).
    public init() {}

    /// The shard's book: every ring member at its point (ring position + 1).
    public init(graph: NeighbourGraph) {
        idsByPoint.reserveCapacity(graph.ring.count)
        pointsById.reserveCapacity(graph.ring.count)
        for (index, id) in graph.ring.enumerated() { add(id, at: UInt64(index) + 1) }
    }

    /// A device's book: its announced neighbours and itself (points already checked unique and
    /// within 1…2^31 by `NeighbourAnnouncement(wire:)` or the client).
    public init(announcement: NeighbourAnnouncement, ownId: String) {
        add(ownId, at: announcement.ownPoint)
        for neighbour in announcement.neighbours { add(neighbour.id, at: neighbour.point) }
    }

    private mutating func add(_ id: String, at point: UInt64) {
        guard point >= 1, point <= 1 << 31 else { return }
        let wire = UInt32(point)
        idsByPoint[wire] = id
        pointsById[id] = wire
    }

    public func id(at point: UInt32) -> String? { idsByPoint[point] }
    public func point(of id: String) -> UInt32? { pointsById[id] }

    /// The `points` frame of `ids`, in order; nil when one has no point here.
    func frame(_ ids: [String]) -> Tensor? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * SecAggRecords.point)
        for id in ids {
            guard let point = pointsById[id] else { return nil }
            bytes.appendLittleEndian(point)
        }
        return SecAggRecords.frame("points", bytes)
    }

    /// The ids of `count` records of frame `points`: `.unreadable` unless the frame holds
    /// exactly that many, `.unknownPoint` for a point nobody here stands behind.
    func ids(in tensors: [Tensor], count: Int) -> Result<[String], SecAggWireRefusal> {
        guard let bytes = SecAggRecords.bytes(of: tensors, named: "points", count: count, size: SecAggRecords.point)
        else { return .failure(.unreadable) }
        var ids: [String] = []
        ids.reserveCapacity(count)
        for index in 0..<count {
            let point = bytes.littleEndianUInt32(at: index * SecAggRecords.point)
            guard let id = idsByPoint[point] else { return .failure(.unknownPoint(point)) }
            ids.append(id)
        }
        return .success(ids)
    }
}

/// Why a `secagg.*` message could not be turned into protocol values.
public enum SecAggWireRefusal: Error, Sendable, Hashable {
    /// The frames do not match the header (names, counts, sizes) or a record is not canonical.
    case unreadable
    /// A point that names no device this end knows of: a device that meets one stops (the
    /// shard is not telling it the story the announcement told).
    case unknownPoint(UInt32)
}
