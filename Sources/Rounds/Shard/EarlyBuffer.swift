import Wire

/// Messages that overtook their round's announcement, bounded in bytes, in count, and per sender.
///
/// Why bytes: a count bound alone let 16 updates of 32 MiB for the next round grow a shard by
/// about 530 MiB. Why per sender: only a later `round.open` empties the buffer, so one peer's
/// messages for a far round id filled it for the rest of the run and every honest message that
/// beat its announcement after that was refused. Each sender (the transport-proven name) may
/// hold ``perSenderLimit`` entries (repeats are refused at admission, as for any update); every
/// bound is checked before anything is kept.
struct EarlyBuffer<Element> {
    let byteLimit: Int
    let countLimit: Int
    /// Entries one sender may hold: an honest peer has one message per round and is rarely more
    /// than a round or two ahead of the shard.
    let perSenderLimit: Int
    private(set) var entries: [(element: Element, roundId: Int, bytes: Int, sender: String)] = []
    private(set) var bytes = 0

    init(byteLimit: Int, countLimit: Int, perSenderLimit: Int = 16) {
        self.byteLimit = max(0, byteLimit)
        self.countLimit = max(0, countLimit)
        self.perSenderLimit = max(0, perSenderLimit)
    }

    /// Keeps `element` for round `roundId`; false (nothing kept) when a bound would be passed.
    mutating func insert(_ element: Element, roundId: Int, bytes size: Int, sender: String) -> Bool {
        let (total, overflow) = bytes.addingReportingOverflow(max(0, size))
        guard !overflow, total <= byteLimit, entries.count < countLimit else { return false }
        let held = entries.reduce(0) { $0 + ($1.sender == sender ? 1 : 0) }
        guard held < perSenderLimit else { return false }
        entries.append((element, roundId, max(0, size), sender))
        bytes = total
        return true
    }

    /// Keeps `element` like ``insert(_:roundId:bytes:sender:)`` when `sender` is its `owner` (the
    /// worker of an update, the aggregator of a partial), so a sender's share of the buffer holds
    /// only its own messages; the refusal when it cannot.
    mutating func keep(
        _ element: Element,
        roundId: Int,
        bytes size: Int,
        sender: String,
        owner: String,
        noun: String
    ) -> WireError? {
        guard sender == owner else {
            return WireError(code: .unauthorizedSender, detail: "\(sender) may not send \(owner)'s \(noun)")
        }
        guard !insert(element, roundId: roundId, bytes: size, sender: sender) else { return nil }
        return WireError(
            code: .bufferFull,
            detail:
                "early-\(noun) buffer holds \(count) (\(bytes) of \(byteLimit) bytes, at most \(perSenderLimit) from one sender)"
        )
    }

    /// Removes and returns every entry for rounds up to `roundId`, oldest first: those for
    /// `roundId` itself and those for earlier rounds (now stale), separately.
    mutating func take(upTo roundId: Int) -> (current: [Element], stale: [Element]) {
        var current: [Element] = []
        var stale: [Element] = []
        var kept: [(element: Element, roundId: Int, bytes: Int, sender: String)] = []
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
        let perSender = Dictionary(grouping: entries, by: \.sender)
        precondition(perSender.values.allSatisfy { $0.count <= perSenderLimit }, "a sender over its share")
        #endif
    }
}
