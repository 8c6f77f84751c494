public import Wire

/// Whether a `model.candidate` may become the model: who sent it, for which round, and whether
/// its weights are ones the coordinator can evaluate and publish.
///
/// Why each rule: a stranger's all-zero candidate replaced the model (sender); a candidate with
/// finite weights of ±3e38 made the coordinator trap in its hold-out evaluation, where such
/// weights overflow Float logits into NaN probabilities (magnitude); a `q8` weights frame was
/// read as a quarter as many floats and became a model of the wrong size (encoding).
public struct CandidateCheck: Sendable {
    /// The model's parameter count.
    public var parameterCount: Int
    /// Largest |w| accepted.
    public var maxWeightMagnitude: Float
    /// Lowercase hex SHA-256 of a frame (the shell passes the one `Wire` digests are made with).
    public var digest: @Sendable ([UInt8]) -> String

    public init(parameterCount: Int, maxWeightMagnitude: Float, digest: @escaping @Sendable ([UInt8]) -> String) {
        self.parameterCount = parameterCount
        self.maxWeightMagnitude = maxWeightMagnitude
        self.digest = digest
    }

    /// Why the candidate is refused, or nil when it may be taken.
    public struct Refusal: Error, Sendable, Equatable {
        public var reason: RejectReason
        public var detail: String
    }

    /// Checks a candidate for the open round `roundId` (nil: none open) from `identity`, given the
    /// live global aggregator's id; returns its weights (a statistics round's are the unchanged model).
    public func check(
        _ message: Message<ModelCandidate>,
        from identity: PeerIdentity,
        globalId: String?,
        openRoundId: Int?
    ) -> Result<[Float], Refusal> {
        let candidate = message.body
        guard let globalId, identity.name == globalId else {
            return .failure(
                Refusal(
                    reason: .unauthorizedSender,
                    detail: "model candidate from \(identity), not the registered global aggregator"
                )
            )
        }
        guard let openRoundId, candidate.roundId == openRoundId else {
            return .failure(
                Refusal(
                    reason: .staleRound,
                    detail: "model for round \(candidate.roundId) arrived when it was not open"
                )
            )
        }
        guard let tensor = message.tensor(named: "weights"), tensor.elementCount == parameterCount else {
            return .failure(
                Refusal(reason: .shapeMismatch, detail: "model candidate without a weights tensor of the model's size")
            )
        }
        // The weights are read as floats: a q8 frame of the model's element count is a quarter
        // as many floats, and a model of the wrong size would have become the model.
        guard tensor.encoding == .f32le else {
            return .failure(
                Refusal(
                    reason: .unsupportedEncoding,
                    detail: "model candidate weights are \(tensor.encoding), not f32le"
                )
            )
        }
        guard digest(tensor.bytes) == candidate.modelDigest else {
            return .failure(
                Refusal(reason: .digestMismatch, detail: "model candidate digest does not match its weights")
            )
        }
        let weights = tensor.floats()
        guard weights.allSatisfy(\.isFinite) else {
            return .failure(Refusal(reason: .nonFinite, detail: "model candidate weights are not all finite"))
        }
        if let index = weights.firstIndex(where: { abs($0) > maxWeightMagnitude }) {
            return .failure(
                Refusal(
                    reason: .overflow,
                    detail: "model candidate weight \(index) is \(weights[index]), beyond ±\(maxWeightMagnitude)"
                )
            )
        }
        return .success(weights)
    }
}
