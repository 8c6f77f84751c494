import Testing

@testable import Privacy

struct RDPAccountantTests {
    /// dp_accounting's RDP results are reproduced to 1e-6 relative.
    static let tolerance = 1e-6

    @Test func fixturesAreLoaded() {
        #expect(Fixtures.rdp.cases.count == 128)
        #expect(Fixtures.rdp.heterogeneous.count == 4)
    }

    @Test func defaultOrdersMatchDPAccounting() {
        #expect(Fixtures.rdp.orders == RDPAccountant.defaultOrders)
    }

    @Test(arguments: Fixtures.rdp.cases)
    func epsilonMatchesReference(_ vector: Fixtures.Case) {
        var accountant = RDPAccountant()
        accountant.compose(SubsampledGaussian(samplingRate: vector.q, noiseMultiplier: vector.z), count: vector.rounds)
        let epsilon = accountant.epsilon(delta: vector.delta).epsilon
        #expect(
            relativelyClose(epsilon, vector.epsilon, tolerance: Self.tolerance),
            "\(vector): got \(epsilon), reference \(vector.epsilon)"
        )
    }

    @Test(arguments: Fixtures.rdp.heterogeneous)
    func heterogeneousRoundsMatchReference(_ vector: Fixtures.HeterogeneousCase) {
        var accountant = RDPAccountant()
        for round in vector.rounds {
            accountant.compose(SubsampledGaussian(samplingRate: round.q, noiseMultiplier: round.z), count: round.count)
        }
        let epsilon = accountant.epsilon(delta: vector.delta).epsilon
        #expect(
            relativelyClose(epsilon, vector.epsilon, tolerance: Self.tolerance),
            "got \(epsilon), reference \(vector.epsilon)"
        )
    }

    @Test func roundByRoundEqualsComposingWithCount() {
        let mechanism = SubsampledGaussian(samplingRate: 0.05, noiseMultiplier: 1.3)
        var incremental = RDPAccountant()
        for _ in 0..<25 { incremental.compose(mechanism) }
        var batched = RDPAccountant()
        batched.compose(mechanism, count: 25)
        #expect(
            relativelyClose(
                incremental.epsilon(delta: 1e-5).epsilon,
                batched.epsilon(delta: 1e-5).epsilon,
                tolerance: 1e-12
            )
        )
    }
}
