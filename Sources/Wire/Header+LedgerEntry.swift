/// `ledger.entry` (auditor PUB 7301): one appended ledger line, for `fedpulse audit tail`.
///
/// The line is carried verbatim (not re-encoded) so a follower can recompute the hash chain
/// byte for byte.
public struct LedgerEntryMessage: MessageBody {
    public static let topic = Topic.ledgerEntry
    public static let carriesTensors = false

    /// The entry's position in the ledger (≥ 0).
    public var sequence: Int
    /// The exact JSON line as written to the ledger file, without the newline.
    public var line: String

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(sequence: Int, line: String) {
        self.sequence = sequence
        self.line = line
    }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.atLeast("sequence", sequence, 0)
        try check.require(!line.isEmpty, "line", "is empty")
    }
}
