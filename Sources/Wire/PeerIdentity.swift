/// Who a message came from, as far as the receiver can tell.
///
/// Every round state machine takes one of these beside the decoded message, so that the
/// decision "may this sender send this?" is made in pure code and tested with plain values.
/// Today `authenticated` is nil (no transport authentication); once CURVE with a ZAP allowlist is
/// on, the shell fills it with the connection's ZeroMQ User-Id (the enrolled name) and a claim
/// that disagrees with it is refused before any state machine sees the message.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The sender named in the message header: what the peer says it is.
    public var claimed: String
    /// The enrolled name the transport proved, nil when the connection is not authenticated.
    public var authenticated: String?

    /// Creates an identity from the header's claim and, when known, the transport's proof.
    public init(claimed: String, authenticated: String? = nil) {
        self.claimed = claimed
        self.authenticated = authenticated
    }

    /// The name decisions use: the proven one when there is one, else the claim.
    public var name: String { authenticated ?? claimed }

    /// False when the transport proved a name other than the one the header claims.
    public var isConsistent: Bool { authenticated.map { $0 == claimed } ?? true }

    /// Whether a decision can rest on the name (the transport proved it).
    public var isAuthenticated: Bool { authenticated != nil && isConsistent }

    public var description: String { authenticated.map { "\(claimed) (as \($0))" } ?? claimed }
}
