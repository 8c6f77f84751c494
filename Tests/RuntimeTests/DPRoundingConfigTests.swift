import Federation
import Learning
import Rounds
import Testing
import Wire

@testable import Runtime

/// Configurations whose every round the devices or shards would refuse, while the auditor
/// approves each retry and the budget is spent without a sum: refused before the first round.
@Suite struct DPRoundingConfigTests {
    /// A DP coordinator that passes every other check (state directory, auditor, Poisson rate).
    static func config(
        _ placement: NoisePlacement,
        compression: String,
        architecture: Architecture? = nil
    ) throws -> CoordinatorConfig {
        var config = CoordinatorConfig(spec: try ModelSpec.wearable(task: .sleepQuality, architecture: architecture))
        config.stateDirectory = "/tmp/unused"
        config.auditorEvents = "tcp://127.0.0.1:1"
        config.auditorLedger = "tcp://127.0.0.1:2"
        config.sampling = .poisson(rate: 0.5)
        config.privacy = PrivacySettings(placement: placement, clipNorm: 1, noiseMultiplier: 1, expectedCohort: 1)
        config.compression = try CompressionChoice.parse(compression).get()
        return config
    }

    @Test func distributedNoiseWithTopKIsRefusedNamingBothFlags() throws {
        let problem = try Self.config(.distributed, compression: "topk:0.1,q8").misconfiguration
        #expect(problem?.contains("--dp distributed") == true, "\(problem ?? "accepted")")
        #expect(problem?.contains("--compression topk") == true, "\(problem ?? "accepted")")
        #expect(try Self.config(.distributed, compression: "randk:0.1").misconfiguration == nil)
        #expect(try Self.config(.central, compression: "topk:0.1").misconfiguration == nil)
    }

    /// d ≈ 6,700 at q8: even at the smallest range a distributed round can have (R = C, an
    /// infinite cohort) rounding moves a contribution by 2·√d·u > C, so every device would
    /// refuse every round. A logistic model of the same features leaves room.
    @Test func distributedNoiseWithQ8AndABigModelIsRefusedUpFront() throws {
        let config = try Self.config(.distributed, compression: "q8", architecture: .mlp(hiddenLayers: [512]))
        #expect(config.spec.parameterCount > 4_064, "the setup must leave no room at q8")
        let problem = config.misconfiguration
        #expect(problem?.contains("--dp distributed") == true, "\(problem ?? "accepted")")
        #expect(problem?.contains("--compression q8") == true, "\(problem ?? "accepted")")
        #expect(try Self.config(.distributed, compression: "q8").misconfiguration == nil)
        #expect(
            try Self.config(.local, compression: "q8", architecture: .mlp(hiddenLayers: [512])).misconfiguration == nil
        )
    }

    /// Central DP with 4-bit secure aggregation: a device clips to C − √d·u with u = C/7, no
    /// room from d = 49 on, so shards and devices refuse every round; 8 bits leave room.
    @Test func centralSecureAggregationWithQ4IsRefusedUpFrontForAModelOf49OrMoreParameters() throws {
        var config = try Self.config(.central, compression: "f32", architecture: .mlp(hiddenLayers: [16]))
        #expect(config.spec.parameterCount >= 49, "the setup must leave no room at 4 bits")
        config.round.secureAggregation = SecureAggregationSettings(
            valueBits: 4,
            clipNorm: 1,
            dropoutRate: 0.1,
            corruptRate: 0.1,
            stageTimeoutMillis: 1_000
        )
        let problem = config.misconfiguration
        #expect(problem?.contains("--secure-aggregation") == true, "\(problem ?? "accepted")")
        #expect(problem?.contains("4-bit") == true, "\(problem ?? "accepted")")
        config.round.secureAggregation?.valueBits = 8
        #expect(config.misconfiguration == nil)
    }
}
