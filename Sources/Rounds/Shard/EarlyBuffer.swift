import Wire

/// Messages that overtook their round's announcement, bounded in bytes and in count.
///
/// Why bytes: a count bound alone let 16 updates of 32 MiB for the next round grow a shard by
/// about 530 MiB. Both bounds are checked with overflow-checked sums before anything is kept.
struct EarlyBuffer<Element> {
    let byteLimit: Int
    let countLimit: Int
    private(set) var entries: [(element: Element, roundId: Int, bytes: Int)] = []
    private(set) var bytes = 0

    init(byteLimit: Int, countLimit: Int) {
        self.byteLimit = max(0, byteLimit)
        self.countLimit = max(0, countLimit)
    }

    /// Keeps `element` for round `roundId`; false (nothing kept) when either bound would be passed.
    mutating func insert(_ element: Element, roundId: Int, bytes size: Int) -> Bool {
        let (total, overflow) = bytes.addingReportingOverflow(max(0, size))
        guard !overflow, total <= byteLimit, entries.count < countLimit else { return false }
        entries.append((element, roundId, max(0, size)))
        bytes = total
        return true
    }

    /// Keeps `element` like ``insert(_:roundId:bytes:)``; the `bufferFull` refusal when it cannot.
    mutating func keep(_ element: Element, roundId: Int, bytes size: Int, noun: String) -> WireError? {
        guard !insert(element, roundId: roundId, bytes: size) else { return nil }
        return WireError(
            code: .bufferFull,
            detail: "early-\(noun) buffer holds \(count) (\(bytes) of \(byteLimit) bytes)"
        )
    }

    /// Removes and returns every entry for rounds up to `roundId`, oldest first: those for
    /// `roundId` itself and those for earlier rounds (now stale), separately.
    mutating func take(upTo roundId: Int) -> (current: [Element], stale: [Element]) {
        var current: [Element] = []
        var stale: [Element] = []
        var kept: [(element: Element, roundId: Int, bytes: Int)] = []
        var keptBytes = 0
        for entry in entries {
            if entry.roundId == roundId {
                current.append(entry.element)
            } else if entry.roundId < roundId {
                stale.append(entry.element)
            } else {
                kept.append(entry)
                keptBytes += entry.bytes
            }
        }
        entries = kept
        bytes = keptBytes
        return (current, stale)
    }

    var count: Int { entries.count }

    /// Debug builds only: the byte total matches the entries and both bounds hold.
    func _checkInvariants() {
        #if DEBUG
        precondition(bytes == entries.reduce(0) { $0 + $1.bytes }, "early buffer byte count drifted")
        precondition(bytes <= byteLimit && entries.count <= countLimit, "early buffer over its bounds")
        #endif
    }
}
