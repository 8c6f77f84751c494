import Testing

@testable import Privacy

struct ClippingTests {
    @Test func hugeNormUpdateIsClippedToExactlyCAndFlagged() {
        var update: [Float] = (0..<1000).map { Float($0 % 7) * 1e4 }
        let report = Clipping.clip(&update, to: 2.5)
        #expect(report.wasClipped)
        #expect(report.preClipNorm > 1e5)
        #expect(abs(Clipping.l2Norm(update) - 2.5) <= 2.5 * 1e-6)
    }

    @Test func smallUpdateIsUntouched() {
        var update: [Float] = [0.3, -0.4]
        let report = Clipping.clip(&update, to: 1)
        #expect(!report.wasClipped)
        #expect(update == [0.3, -0.4])
        #expect(abs(report.preClipNorm - 0.5) < 1e-7)
    }

    @Test func nonFiniteUpdateIsZeroedAndFlagged() {
        var update: [Float] = [1, .nan, 2]
        let report = Clipping.clip(&update, to: 1)
        #expect(report.wasClipped)
        #expect(!report.wasFinite)
        #expect(update == [0, 0, 0])
    }

    /// Update norms spread evenly over (0, 10]: the median is 5.
    static let norms: [Double] = (1...100).map { Double($0) / 10 }

    @Test func adaptiveClippingMovesTowardTheTargetQuantile() {
        var clipping = AdaptiveClipping(
            initialClipNorm: 1,
            targetQuantile: 0.5,
            learningRate: 0.2,
            countNoiseStandardDeviation: 2
        )
        var generator = SplitMix64(seed: 42)
        var history: [Double] = []
        for _ in 0..<300 {
            let sum = Self.norms.map { clipping.indicator(preClipNorm: $0) }.reduce(0, +)
            clipping.indicatorsReceived(sum: sum, expectedCohort: Double(Self.norms.count), using: &generator)
            history.append(clipping.clipNorm)
        }
        #expect(history[9] > 1, "C must grow while most updates are clipped")
        #expect(abs(clipping.clipNorm - 5) < 0.75, "C ends near the median, got \(clipping.clipNorm)")
        var shrinking = AdaptiveClipping(initialClipNorm: 50, targetQuantile: 0.9, countNoiseStandardDeviation: 0.1)
        for _ in 0..<300 {
            let sum = Self.norms.map { shrinking.indicator(preClipNorm: $0) }.reduce(0, +)
            shrinking.noisedIndicatorsReceived(sum: sum, expectedCohort: Double(Self.norms.count))
        }
        #expect(abs(shrinking.clipNorm - 9) < 0.3, "C ends near the 0.9 quantile, got \(shrinking.clipNorm)")
    }

    @Test func countNoiseRaisesTheUpdateNoiseMultiplier() throws {
        let zDelta = try #require(
            AdaptiveClipping.updateNoiseMultiplier(accountedNoiseMultiplier: 1, countNoiseStandardDeviation: 5)
        )
        #expect(abs(zDelta - 1 / (1 - 0.01).squareRoot()) < 1e-12)
        #expect(
            abs(
                AdaptiveClipping.accountedNoiseMultiplier(updateNoiseMultiplier: zDelta, countNoiseStandardDeviation: 5)
                    - 1
            ) < 1e-12
        )
        #expect(
            AdaptiveClipping.updateNoiseMultiplier(accountedNoiseMultiplier: 1, countNoiseStandardDeviation: 0.5) == nil
        )
    }
}

struct GaussianNoiseTests {
    @Test func samplerHasUnitVariance() {
        var generator = SplitMix64(seed: 7)
        let samples = (0..<50_000).map { _ in GaussianSampler.standardNormal(using: &generator) }
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(samples.count)
        #expect(abs(mean) < 0.02)
        #expect(abs(variance - 1) < 0.03)
    }

    @Test func distributedSharesAddUpToTheCentralNoise() {
        let noise = DPFedAvgNoise(
            noiseMultiplier: 1.2,
            clipNorm: 0.5,
            placement: .distributed,
            samplingRate: 0.01,
            population: 2500
        )
        #expect(noise.fixedDenominator == 25)
        let perWorker = noise.workerNoiseStandardDeviation
        #expect(abs(25 * perWorker * perWorker - 0.36) < 1e-12, "m shares of variance z²C²/m sum to z²C²")
        #expect(noise.aggregatorNoiseStandardDeviation == 0)
        // A contributor is hidden by the other k − 1 shares only (its own leaves with it).
        #expect(abs(noise.effectiveNoiseMultiplier(reporting: 25) - 1.2 * (24.0 / 25).squareRoot()) < 1e-12)
        #expect(abs(noise.effectiveNoiseMultiplier(reporting: 16) - 1.2 * (15.0 / 25).squareRoot()) < 1e-12)
    }

    /// With k of m reporting, the noise hiding one contributor is the variance of the other k − 1
    /// shares, (k − 1)·z²C²/m; counting the target's own share (k·z²C²/m) would overstate it.
    @Test(arguments: [1, 2, 5, 25, 40])
    func distributedNoiseProtectingOneContributorIsThatOfTheOtherShares(reporting k: Int) {
        let noise = DPFedAvgNoise(noiseMultiplier: 1.2, clipNorm: 0.5, placement: .distributed, expectedCohort: 25)
        let share = noise.workerNoiseStandardDeviation
        let others = Double(k - 1) * share * share
        let effective = noise.effectiveNoiseMultiplier(reporting: k)
        #expect(abs(effective * effective * 0.25 - others) < 1e-12, "σ_eff² = (k−1)·σ_share²")
        let withOwnShare = Double(k) * share * share
        #expect(effective * effective * 0.25 < withOwnShare, "the target's own share is not counted")
        if k == 1 { #expect(effective == 0, "a lone reporter is not protected at all") }
    }

    @Test(arguments: NoisePlacement.allCases)
    func placementDecidesWhoAddsNoise(_ placement: NoisePlacement) {
        let noise = DPFedAvgNoise(noiseMultiplier: 1, clipNorm: 2, placement: placement, expectedCohort: 4)
        switch placement {
        case .central:
            #expect(noise.aggregatorNoiseStandardDeviation == 2 && noise.workerNoiseStandardDeviation == 0)
        case .distributed:
            #expect(noise.aggregatorNoiseStandardDeviation == 0 && noise.workerNoiseStandardDeviation == 1)
        case .local:
            #expect(noise.aggregatorNoiseStandardDeviation == 0 && noise.workerNoiseStandardDeviation == 2)
        case .off, .skellam:
            // Skellam noise is integer noise from the encoder, never Gaussian.
            #expect(noise.aggregatorNoiseStandardDeviation == 0 && noise.workerNoiseStandardDeviation == 0)
            #expect(noise.effectiveNoiseMultiplier(reporting: 4) == 0)
        }
    }
}

struct ParticipationCounterTests {
    @Test func keysAreSaltedAndCapsHold() throws {
        var generator = SplitMix64(seed: 1)
        let salt = ParticipationCounter.makeSalt(using: &generator)
        #expect(salt.count == 64)
        var counter = try #require(ParticipationCounter(saltHex: salt, cap: 2))
        let other = try #require(ParticipationCounter(saltHex: String(repeating: "00", count: 32)))
        #expect(counter.key(for: "watch-1") != other.key(for: "watch-1"))
        #expect(counter.key(for: "watch-1") == counter.key(for: "watch-1"))
        #expect(!counter.key(for: "watch-1").contains("watch"))
        let first = counter.selectionRecorded("watch-1")
        let second = counter.selectionRecorded("watch-1")
        let third = counter.selectionRecorded("watch-1")
        #expect(first && second && !third)
        #expect(counter.count(for: "watch-1") == 2)
        #expect(counter.isEligible("phone-1"))
        #expect(ParticipationCounter(saltHex: "xyz") == nil)
    }
}
