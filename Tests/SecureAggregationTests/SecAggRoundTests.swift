import Testing

@testable import SecureAggregation

@Suite(.timeLimit(.minutes(2)))
struct SecAggRoundTests {
    /// Runs one round and checks the released sum against the plain sum of exactly the
    /// survivors' inputs, mod 2^b.
    static func expectExactSum(
        devices: Int,
        degree: Int,
        threshold: Int,
        dropouts: SecAggDropoutPlan,
        seed: UInt64
    ) throws -> SecAggResult {
        let (simulated, inputs, configuration) = try simulate(
            devices: devices,
            degree: degree,
            threshold: threshold,
            seed: seed,
            dropouts: dropouts
        )
        let report = try #require(simulated)
        #expect(report.clientRefusals.isEmpty)
        #expect(report.serverRejections.isEmpty)
        #expect(report.server._checkInvariants().isEmpty)
        let result = try report.outcome.get()
        let sentInput = Set(inputs.keys).subtracting(dropouts.beforeAdvertising).subtracting(dropouts.afterAdvertising)
            .subtracting(dropouts.afterSharing)
        #expect(Set(result.survivors) == sentInput)
        #expect(result.sum == plainSum(inputs, of: result.survivors, configuration: configuration))
        return result
    }

    @Test func maskedSumEqualsPlainSumWithoutDropouts() throws {
        let result = try Self.expectExactSum(devices: 12, degree: 6, threshold: 3, dropouts: .init(), seed: 1)
        #expect(result.survivors.count == 12)
        #expect(result.droppedAfterSharing.isEmpty)
    }

    @Test func maskedSumEqualsPlainSumAfterDropoutsBeforeAdvertising() throws {
        let plan = SecAggDropoutPlan(beforeAdvertising: ["watch-2", "watch-7"])
        let result = try Self.expectExactSum(devices: 12, degree: 6, threshold: 3, dropouts: plan, seed: 2)
        #expect(result.survivors.count == 10)
    }

    @Test func maskedSumEqualsPlainSumAfterDropoutsAfterAdvertising() throws {
        let plan = SecAggDropoutPlan(afterAdvertising: ["watch-0", "watch-5"])
        let result = try Self.expectExactSum(devices: 12, degree: 6, threshold: 3, dropouts: plan, seed: 3)
        #expect(result.survivors.count == 10)
        #expect(result.droppedAfterSharing.isEmpty)
    }

    @Test func maskedSumEqualsPlainSumAfterDropoutsAfterSharing() throws {
        // These devices' pairwise masks are in their neighbours' inputs: the shard must rebuild
        // their mask keys and remove them.
        let plan = SecAggDropoutPlan(afterSharing: ["watch-1", "watch-9"])
        let result = try Self.expectExactSum(devices: 12, degree: 6, threshold: 3, dropouts: plan, seed: 4)
        #expect(result.droppedAfterSharing == ["watch-1", "watch-9"])
    }

    @Test func maskedSumEqualsPlainSumAfterDropoutsAfterMaskedInput() throws {
        // Their inputs count; their neighbours hold enough shares of their self-mask seeds.
        let plan = SecAggDropoutPlan(afterMaskedInput: ["watch-3", "watch-4"])
        let result = try Self.expectExactSum(devices: 12, degree: 6, threshold: 3, dropouts: plan, seed: 5)
        #expect(result.survivors.contains("watch-3"))
        #expect(result.survivors.count == 12)
    }

    @Test func cohortOfOneHundredWithThirtyPercentDropoutsCompletes() throws {
        // Degree and threshold from the parameter finder for 30 % dropout (5 % corrupt).
        let parameters = try GraphParameterFinder.parameters(
            cohortSize: 100,
            threatModel: SecAggThreatModel(corruptRate: 0.05, dropoutRate: 0.3)
        )
        let ids = deviceIds(100)
        let plan = SecAggDropoutPlan(
            beforeAdvertising: Set(ids[0..<5]),
            afterAdvertising: Set(ids[5..<13]),
            afterSharing: Set(ids[13..<22]),
            afterMaskedInput: Set(ids[22..<30])
        )
        let result = try Self.expectExactSum(
            devices: 100,
            degree: parameters.degree,
            threshold: parameters.threshold,
            dropouts: plan,
            seed: 100
        )
        #expect(result.survivors.count == 78)
        #expect(result.droppedAfterSharing.count == 9)
    }

    @Test func tooFewSurvivorsFailsCleanlyAtTheStageThatLostThem() throws {
        let report = try #require(
            try simulate(
                devices: 12,
                degree: 6,
                threshold: 3,
                seed: 6,
                dropouts: SecAggDropoutPlan(afterSharing: ["watch-0", "watch-1", "watch-2"]),
                minimumSurvivors: 10
            ).report
        )
        #expect(throws: SecAggFailure.tooFewSurvivors(stage: .maskedInput, count: 9, needed: 10)) {
            try report.outcome.get()
        }
        #expect(report.server.stage == .failed)
        #expect(report.server.rebuiltSeedOwners.isEmpty && report.server.rebuiltKeyOwners.isEmpty)
    }

    @Test func tooFewUnmaskingAnswersFailsWithTheOwnerShortOfShares() throws {
        let ids = deviceIds(12)
        let report = try #require(
            try simulate(
                devices: 12,
                degree: 6,
                threshold: 3,
                seed: 7,
                dropouts: SecAggDropoutPlan(afterMaskedInput: Set(ids.prefix(10)))
            ).report
        )
        guard case .failure(.notEnoughShares(_, let have, let need)) = report.outcome else {
            Issue.record("expected notEnoughShares, got \(report.outcome)")
            return
        }
        #expect(have < need)
        #expect(need == 3)
    }
}
