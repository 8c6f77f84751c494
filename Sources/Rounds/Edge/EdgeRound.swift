public import Wire

/// What one device does with a `round.open`: the pure decisions of the edge worker.
///
/// Why here: whether a device takes part, and what its update may say about it, is where the
/// privacy of sampling and of per-device facts is decided; the edge shell only trains and sends.
public enum EdgeRound {
    /// A device's part in a round.
    public enum Participation: Sendable, Equatable {
        /// Not announced for this round (or announced for another class): nothing to send.
        case notInvited
        /// A population member that did not sample itself: send this decline to `endpoint`.
        case declined(Update, endpoint: String)
        /// Selected (listed) or self-sampled: train and send an update to this shard.
        case selected(ShardAssignment)
        /// The round asks for something that would not protect this device: send nothing.
        case refused(String)
    }

    /// Decides the device's part. Under `poisson` selection the device samples itself with
    /// probability `samplingRate` from `generator`, which must be a CSPRNG in production
    /// (`SystemRandomNumberGenerator`): nobody else may be able to predict who trained.
    public static func participation(
        in round: RoundOpen,
        workerId: String,
        deviceClass: DeviceClassName,
        using generator: inout some RandomNumberGenerator
    ) -> Participation {
        guard let assignment = round.shards.first(where: { $0.members.contains(workerId) }),
            assignment.region == deviceClass
        else {
            return .notInvited
        }
        // Skellam noise is sized for a secure-aggregated sum of many devices; a round.open that
        // asks for it without secure aggregation would have the device send a barely noised
        // update in the clear. The device does not trust the coordinator's flag check for that.
        if round.privacy.placement == .skellam && round.secureAggregation == nil {
            return .refused("skellam noise without secure aggregation would send the update in the clear")
        }
        // Shards refuse to sum such a round, and every retry would spend budget.
        if let sparsification = round.compression?.sparsification,
            !sparsification.keepsChargedNoise(under: round.privacy.placement)
        {
            return .refused("topk under distributed noise leaves a coordinate with fewer noise shares than charged")
        }
        switch round.selection {
        case .listed:
            return .selected(assignment)
        case .poisson:
            let rate = round.samplingRate ?? 0
            // 53 random bits give a uniform double in [0, 1).
            let draw = Double(generator.next() >> 11) * 0x1p-53
            if draw < rate { return .selected(assignment) }
            let decline = Update.decline(
                roundId: round.roundId,
                modelVersion: round.modelVersion,
                workerId: workerId,
                deviceClass: deviceClass,
                shard: assignment.shard
            )
            return .declined(decline, endpoint: assignment.endpoint)
        }
    }

    /// What local training produced, before it goes on the wire.
    public struct Outcome: Sendable, Equatable {
        public var examples: Int
        public var preClipNorm: Double
        public var clipped: Bool
        /// The device's evaluation of the received model on its hold-out.
        public var evaluation: MetricsSummary?

        public init(examples: Int, preClipNorm: Double, clipped: Bool, evaluation: MetricsSummary?) {
            self.examples = examples
            self.preClipNorm = preClipNorm
            self.clipped = clipped
            self.evaluation = evaluation
        }
    }

    /// The update header. Under DP it says nothing about the device beyond its clipped, noised
    /// delta: weight 1 (every client weighs the same), no metrics, norm 0, not clipped.
    public static func update(
        round: RoundOpen,
        assignment: ShardAssignment,
        workerId: String,
        outcome: Outcome
    ) -> Update {
        let isPrivate = round.privacy.placement != .off
        return Update(
            roundId: round.roundId,
            modelVersion: round.modelVersion,
            workerId: workerId,
            deviceClass: assignment.region,
            shard: assignment.shard,
            weight: isPrivate ? 1 : Double(outcome.examples),
            norm: isPrivate ? 0 : outcome.preClipNorm,
            clipped: isPrivate ? false : outcome.clipped,
            metrics: isPrivate ? nil : outcome.evaluation
        )
    }

    /// Why a locally trained model must not be sent (NaN or ∞ in the weights or the delta's
    /// norm: the training diverged), or nil when it may.
    public static func divergence(localWeights: [Float], deltaNorm: Double) -> String? {
        if let index = localWeights.firstIndex(where: { !$0.isFinite }) {
            return "local weight \(index) is \(localWeights[index])"
        }
        if !deltaNorm.isFinite { return "delta norm is \(deltaNorm)" }
        return nil
    }
}
