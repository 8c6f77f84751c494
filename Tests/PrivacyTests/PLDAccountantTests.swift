import Testing

@testable import Privacy

struct PLDAccountantTests {
    /// dp_accounting's PLD results are reproduced to 1e-3 relative.
    static let tolerance = 1e-3

    /// One PLD per (q, z, T), checked at every δ of the fixture.
    struct Group: CustomStringConvertible, Sendable {
        var mechanism: SubsampledGaussian
        var rounds: Int
        var expected: [(delta: Double, epsilon: Double)]
        var description: String { "q=\(mechanism.samplingRate) z=\(mechanism.noiseMultiplier) T=\(rounds)" }
    }

    static let groups: [Group] = {
        var groups: [Group] = []
        for vector in Fixtures.pld.cases {
            let mechanism = SubsampledGaussian(samplingRate: vector.q, noiseMultiplier: vector.z)
            if let index = groups.firstIndex(where: { $0.mechanism == mechanism && $0.rounds == vector.rounds }) {
                groups[index].expected.append((vector.delta, vector.epsilon))
            } else {
                groups.append(
                    Group(mechanism: mechanism, rounds: vector.rounds, expected: [(vector.delta, vector.epsilon)])
                )
            }
        }
        return groups
    }()

    @Test func fixturesAreLoaded() {
        #expect(Self.groups.count >= 40)
        #expect(Fixtures.pld.heterogeneous.count == 4)
    }

    @Test(arguments: groups)
    func epsilonMatchesReference(_ group: Group) {
        var accountant = PLDAccountant()
        accountant.compose(group.mechanism, count: group.rounds)
        for (delta, expected) in group.expected {
            let epsilon = accountant.epsilon(delta: delta).epsilon
            #expect(
                relativelyClose(epsilon, expected, tolerance: Self.tolerance),
                "\(group) δ=\(delta): got \(epsilon), reference \(expected)"
            )
        }
    }

    @Test(arguments: Fixtures.pld.heterogeneous)
    func heterogeneousRoundsMatchReference(_ vector: Fixtures.HeterogeneousCase) {
        var accountant = PLDAccountant()
        for round in vector.rounds {
            accountant.compose(SubsampledGaussian(samplingRate: round.q, noiseMultiplier: round.z), count: round.count)
        }
        let epsilon = accountant.epsilon(delta: vector.delta).epsilon
        #expect(
            relativelyClose(epsilon, vector.epsilon, tolerance: Self.tolerance),
            "got \(epsilon), reference \(vector.epsilon)"
        )
    }

    @Test func groupedHeterogeneousEpsilonMatchesIncremental() {
        let a = SubsampledGaussian(samplingRate: 0.1, noiseMultiplier: 2)
        let b = SubsampledGaussian(samplingRate: 0.05, noiseMultiplier: 1)
        var incremental = PLDAccountant()
        for mechanism in [a, b, a, a, b] { incremental.compose(mechanism) }
        let grouped = PLDAccountant.epsilon(rounds: [a, b, a, a, b], delta: 1e-5)
        #expect(relativelyClose(incremental.epsilon(delta: 1e-5).epsilon, grouped.epsilon, tolerance: 1e-6))
    }
}
