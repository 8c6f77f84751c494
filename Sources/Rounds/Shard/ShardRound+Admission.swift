import Federation
import Wire

extension ShardRound {
    /// Checks an update against the open round and, only if every check passes, folds it in.
    ///
    /// The order is the order of the questions: which round, which model, who sent it, is it
    /// for this shard, is the sender a member that has not answered, then the tensors (names,
    /// length, digest, metrics), then the sums (norm, overflow), checked before the in-place
    /// addition. Nothing is changed before the last check passed, so a refused update leaves the
    /// round exactly as it was, apart from its count.
    mutating func admit(
        _ message: Message<Update>,
        from identity: PeerIdentity,
        byteCount: Int,
        now: Int64
    ) -> [ShardAction] {
        let body = message.body
        guard var round = current.take() else {
            return [
                .reject(
                    .staleRound,
                    sender: identity.name,
                    roundId: body.roundId,
                    detail: "no round open at this shard"
                )
            ]
        }
        defer { current = round }
        func refused(_ error: WireError) -> [ShardAction] {
            // A round already sent keeps its reported counts.
            if !round.sent { round.count(error.code) }
            return [
                .reject(
                    error.code,
                    sender: identity.name,
                    roundId: body.roundId,
                    detail: "update refused by shard \(configuration.name): \(error.detail)"
                )
            ]
        }
        switch check(message, from: identity, byteCount: byteCount, against: round) {
        case .failure(let error):
            return refused(error)
        case .success(let admitted):
            if let tensors = admitted.tensors, let error = Self.stage(tensors, weight: body.weight, in: &round) {
                return refused(error)
            }
            round.answered.insert(body.workerId)
            round.bytes = admitted.bytes
            if let tensors = admitted.tensors {
                for (index, tensor) in tensors.enumerated() {
                    tensor.withUnsafeBytes { raw in
                        round.strategy.commit(
                            littleEndianBytes: raw,
                            weight: body.weight,
                            into: &round.sums[index],
                            scratch: &round.scratch[index]
                        )
                    }
                }
                round.contributors.append(body.workerId)
                round.metrics = admitted.metrics
            } else {
                round.declines += 1
            }
        }
        var actions: [ShardAction] = [
            .note(.updateAccepted(workerId: body.workerId, roundId: body.roundId, declined: body.isDecline))
        ]
        if round.everyoneAnswered {
            actions.append(round.partial(region: configuration.region, shard: configuration.shard))
        }
        return actions
    }

    /// The last check: every tensor's norm, finiteness and overflow, read-only, leaving in the
    /// round's scratch what the in-place add needs; nil when all may be committed. The sums
    /// themselves are not touched.
    private static func stage(_ tensors: [Tensor], weight: Double, in round: inout OpenShardRound) -> WireError? {
        if round.scratch.count != tensors.count { round.scratch = tensors.map { _ in FoldScratch() } }
        for (index, tensor) in tensors.enumerated() {
            let refusal = tensor.withUnsafeBytes { raw in
                round.strategy.stage(
                    littleEndianBytes: raw,
                    weight: weight,
                    onto: round.sums[index],
                    scratch: &round.scratch[index]
                )
            }
            if let refusal { return refusal }
        }
        return nil
    }

    /// What an admitted update changes: its tensors (nil for a decline) and the new totals.
    struct Admitted {
        var tensors: [Tensor]?
        var metrics: MetricsTally
        var bytes: Int
    }

    /// Every check, reading only; the first fault is the answer.
    private func check(
        _ message: Message<Update>,
        from identity: PeerIdentity,
        byteCount: Int,
        against round: OpenShardRound
    ) -> Result<Admitted, WireError> {
        let body = message.body
        if let refusal = RoundGate.refusal(
            roundId: body.roundId,
            modelVersion: body.modelVersion,
            openRoundId: round.roundId,
            openModelVersion: round.modelVersion,
            closed: round.sent,
            sentWhat: "partial"
        ) {
            return .failure(refusal)
        }
        // Today the name is the header's claim; with CURVE it is the enrolled key's name.
        guard identity.name == body.workerId else {
            return .failure(
                WireError(code: .unauthorizedSender, detail: "\(identity.name) may not send \(body.workerId)'s update")
            )
        }
        guard body.deviceClass == configuration.region else {
            return .failure(
                WireError(
                    code: .wrongDeviceClass,
                    detail: "a \(body.deviceClass) update at a \(configuration.region) shard"
                )
            )
        }
        guard body.shard == configuration.shard else {
            return .failure(WireError(code: .wrongShard, detail: "addressed to shard \(body.shard)"))
        }
        guard round.members.contains(body.workerId) else {
            return .failure(
                WireError(code: .notInCohort, detail: "\(body.workerId) is not a member of this round at this shard")
            )
        }
        guard !round.answered.contains(body.workerId) else {
            return .failure(
                WireError(code: .duplicate, detail: "\(body.workerId) already answered round \(round.roundId)")
            )
        }
        let (bytes, bytesOverflow) = round.bytes.addingReportingOverflow(max(0, byteCount))
        guard !bytesOverflow else { return .failure(WireError(code: .overflow, detail: "byte count overflows")) }
        if body.isDecline {
            guard message.tensors.isEmpty else {
                return .failure(WireError(code: .frameCountMismatch, detail: "a decline carries no tensors"))
            }
            return .success(Admitted(tensors: nil, metrics: round.metrics, bytes: bytes))
        }
        var received = message.tensors
        if let compression = round.compression {
            switch compression.decode(received, digest: configuration.digest) {
            case .failure(let error): return .failure(error)
            case .success(let decoded): received = decoded
            }
        }
        let tensors: [Tensor]
        switch round.layout.tensors(named: round.layout.updateNames, in: received, digest: configuration.digest) {
        case .failure(let error): return .failure(error)
        case .success(let found): tensors = found
        }
        var metrics = round.metrics
        if !round.underDP, let reported = body.metrics {
            switch metrics.adding(reported) {
            case .failure(let error): return .failure(error)
            case .success(let tally): metrics = tally
            }
        }
        return .success(Admitted(tensors: tensors, metrics: metrics, bytes: bytes))
    }
}
