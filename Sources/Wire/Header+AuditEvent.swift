/// `audit.event` (any role → auditor PULL 7300): a fact the privacy ledger should record.
///
/// `kind` is an open vocabulary (`update.rejected`, `update.clipped`, `noise.added`, …) so a
/// role can report something new without a schema change; `detail` carries its specifics. The
/// auditor's metrics label it from the closed set ``Kind`` (anything else counts as `other`), so
/// a sender inventing kinds cannot grow `/metrics`.
public struct AuditEvent: MessageBody {
    public static let topic = Topic.auditEvent
    public static let carriesTensors = false

    /// The reporting role, e.g. `coordinator`, `region`, `global`, `edge`.
    public var role: String
    /// ≥ 1, when the event belongs to a round.
    public var roundId: Int?
    /// What happened, dotted lowercase by convention (1…128 characters).
    public var kind: String
    /// Why, e.g. a `RejectReason` raw value (1…1024 characters).
    public var reason: String?
    /// How many times, when the event aggregates (≥ 0).
    public var count: Int?
    /// Further structured specifics (a JSON object).
    public var detail: JSONValue?

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(
        role: String,
        roundId: Int? = nil,
        kind: String,
        reason: String? = nil,
        count: Int? = nil,
        detail: JSONValue? = nil
    ) {
        self.role = role
        self.roundId = roundId
        self.kind = kind
        self.reason = reason
        self.count = count
        self.detail = detail
    }

    /// The kinds the auditor counts under their own label.
    public enum Kind: String, Sendable, CaseIterable {
        case updateAccepted = "update.accepted"
        case updateRejected = "update.rejected"
        case updateClipped = "update.clipped"
        case noiseAdded = "noise.added"
        case partialSent = "partial.sent"
        case partialRejected = "partial.rejected"
        case roundClosed = "round.closed"
        /// Every kind not listed above.
        case other
    }

    /// `kind` in the closed set: itself when listed, else `.other`.
    public var knownKind: Kind { Kind(rawValue: kind).flatMap { $0 == .other ? nil : $0 } ?? .other }

    public func validate() throws(WireError) {
        let check = FieldCheck()
        try check.id("role", role)
        if let roundId { try check.atLeast("roundId", roundId, 1) }
        try check.id("kind", kind)
        if let reason { try check.text("reason", reason, maxLength: 1024) }
        if let count { try check.atLeast("count", count, 0) }
        if let detail { try check.object("detail", detail) }
    }
}
