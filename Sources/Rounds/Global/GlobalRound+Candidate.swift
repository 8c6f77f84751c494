import Federation
import Privacy
import Wire

extension GlobalRound {
    /// The round's model candidate: central noise once (if the round's placement is central),
    /// DP-FedAvg's fixed denominator (or the weight sum without DP), the server optimizer step.
    ///
    /// How much noise and what the accountant must compose both come from `Privacy.DPFedAvgNoise`,
    /// the one place that computes them. Marks the round sent.
    mutating func candidate(
        _ round: inout OpenGlobalRound,
        using generator: inout some RandomNumberGenerator
    ) -> [GlobalAction] {
        round.sent = true
        let open = round.open
        let totals = round.totals
        if open.kind == .statistics { return statisticsCandidate(round) }
        var weights = round.weights
        var version = open.modelVersion
        var denominator = 0.0
        var noiseStd = 0.0
        var effectiveNoise = 0.0
        if totals.contributors > 0, var sum = round.sums.first?.sum {
            if let noise = round.noise {
                noiseStd = noise.aggregatorNoiseStandardDeviation
                if noiseStd > 0 { GaussianSampler.addNoise(to: &sum, standardDeviation: noiseStd, using: &generator) }
                effectiveNoise = noise.effectiveNoiseMultiplier(reporting: totals.contributors)
            }
            let pseudoGradient: [Float]
            if let dp = round.dp {
                denominator = dp.denominator
                pseudoGradient = dp.average(of: sum)
            } else {
                denominator = round.sums.first?.weightSum ?? 0
                let inverse = Float(1 / max(denominator, .leastNonzeroMagnitude))
                pseudoGradient = sum.map { $0 * inverse }
            }
            var stepped = weights
            optimizer.step(weights: &stepped, pseudoGradient: pseudoGradient)
            // A step that left the finite range (an adaptive optimizer on a huge learning rate)
            // must not end up in an unencodable candidate: the model stays as it was.
            if stepped.allSatisfy(\.isFinite) {
                weights = stepped
                version += 1
            }
        }
        var tensor = Tensor.f32le(name: "weights", weights)
        let digest = configuration.digest(tensor.bytes)
        tensor.sha256 = digest
        let missing = round.missing
        let body = ModelCandidate(
            roundId: open.roundId,
            modelVersion: version,
            modelDigest: digest,
            participants: ParticipantCounts(totals.participants),
            contributors: totals.contributors,
            weightSum: round.sums.first?.weightSum ?? 0,
            denominator: denominator,
            noiseStd: noiseStd,
            metrics: round.dp == nil ? totals.metrics.summary : nil,
            shardsReported: round.reported,
            shardsMissing: missing,
            clippedCount: totals.clipped,
            bytesUp: totals.bytesUp,
            rejected: totals.rejected,
            effectiveNoiseMultiplier: effectiveNoise,
            contributorIds: totals.contributorIds,
            secureAggregation: totals.secureAggregation.isEmpty ? nil : totals.secureAggregation
        )
        return [
            .note(
                .candidateReady(
                    roundId: open.roundId,
                    contributors: totals.contributors,
                    shardsMissing: missing,
                    noiseStd: noiseStd
                )
            ),
            .sendCandidate(body, tensors: [tensor]),
        ]
    }

    /// A statistics round's outcome: the summed feature moments, passed on with the unchanged
    /// model (the coordinator turns them into the spec's scaling).
    private func statisticsCandidate(_ round: OpenGlobalRound) -> [GlobalAction] {
        var weights = Tensor.f32le(name: "weights", round.weights)
        let digest = configuration.digest(weights.bytes)
        weights.sha256 = digest
        let totals = round.totals
        let body = ModelCandidate(
            roundId: round.open.roundId,
            modelVersion: round.open.modelVersion,
            modelDigest: digest,
            participants: ParticipantCounts(totals.participants),
            contributors: totals.contributors,
            weightSum: round.sums.first?.weightSum ?? 0,
            denominator: 0,
            noiseStd: 0,
            metrics: nil,
            shardsReported: round.reported,
            shardsMissing: round.missing,
            clippedCount: 0,
            bytesUp: totals.bytesUp,
            rejected: totals.rejected,
            effectiveNoiseMultiplier: 0,
            contributorIds: totals.contributorIds
        )
        let moments = zip(round.layout.partialNames, round.sums).map { Tensor.f32le(name: $0, $1.sum) }
        return [
            .note(
                .candidateReady(
                    roundId: round.open.roundId,
                    contributors: totals.contributors,
                    shardsMissing: round.missing,
                    noiseStd: 0
                )
            ),
            .sendCandidate(body, tensors: [weights] + moments),
        ]
    }
}
