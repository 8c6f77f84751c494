import Wire

/// The first questions a shard and the global aggregator both ask of a message: is its round
/// the one open here, still open, and made from this round's model.
enum RoundGate {
    /// Nil when the message belongs to the open round; else `roundClosed`, `staleRound` or
    /// `wrongModelVersion`. `sentWhat` names what the round already sent once it is closed.
    static func refusal(
        roundId: Int,
        modelVersion: Int,
        openRoundId: Int,
        openModelVersion: Int,
        closed: Bool,
        sentWhat: String
    ) -> WireError? {
        if closed {
            let reason: RejectReason = roundId == openRoundId ? .roundClosed : .staleRound
            return WireError(code: reason, detail: "round \(openRoundId) already sent its \(sentWhat)")
        }
        guard roundId == openRoundId else {
            return WireError(code: .staleRound, detail: "for round \(roundId), round \(openRoundId) is open")
        }
        guard modelVersion == openModelVersion else {
            return WireError(
                code: .wrongModelVersion,
                detail: "made from model \(modelVersion), the round's is \(openModelVersion)"
            )
        }
        return nil
    }
}
