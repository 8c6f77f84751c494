import Learning
import Testing

@testable import SecureAggregation

@Suite struct GraphTests {
    struct Reference: Sendable, CustomTestStringConvertible {
        let clients: Int
        let corrupt: Double
        let dropout: Double
        let adversary: SecAggThreatModel.Adversary
        let degree: Int
        let threshold: Int
        var testDescription: String { "n=\(clients) corrupt=\(corrupt) dropout=\(dropout) → (\(degree), \(threshold))" }
    }

    /// Rows of `fcp/secagg/server/graph_parameter_finder_test.cc` (google/federated-compute):
    /// fcp asserts degree == expected and threshold ≤ expected; the port lands on both exactly.
    static let references: [Reference] = [
        Reference(clients: 100, corrupt: 0.45, dropout: 0.45, adversary: .curiousServer, degree: 92, threshold: 46),
        Reference(clients: 1000, corrupt: 0.45, dropout: 0.45, adversary: .curiousServer, degree: 822, threshold: 417),
        Reference(clients: 10, corrupt: 0.33, dropout: 0.33, adversary: .curiousServer, degree: 8, threshold: 4),
        Reference(clients: 100, corrupt: 0.33, dropout: 0.33, adversary: .curiousServer, degree: 68, threshold: 34),
        Reference(clients: 10000, corrupt: 0.33, dropout: 0.33, adversary: .curiousServer, degree: 422, threshold: 221),
        Reference(clients: 100, corrupt: 0.3, dropout: 0.3, adversary: .semiMaliciousServer, degree: 92, threshold: 62),
        Reference(clients: 100, corrupt: 0.05, dropout: 0.33, adversary: .curiousServer, degree: 28, threshold: 6),
        Reference(clients: 1000, corrupt: 0.05, dropout: 0.33, adversary: .curiousServer, degree: 72, threshold: 24),
        Reference(
            clients: 100,
            corrupt: 0.05,
            dropout: 0.33,
            adversary: .semiMaliciousServer,
            degree: 72,
            threshold: 39
        ),
        Reference(clients: 100, corrupt: 0.33, dropout: 0.05, adversary: .curiousServer, degree: 34, threshold: 29),
        Reference(clients: 10, corrupt: 0.05, dropout: 0.05, adversary: .curiousServer, degree: 2, threshold: 2),
        Reference(clients: 100, corrupt: 0.05, dropout: 0.05, adversary: .curiousServer, degree: 12, threshold: 6),
        Reference(
            clients: 1000,
            corrupt: 0.05,
            dropout: 0.05,
            adversary: .semiMaliciousServer,
            degree: 52,
            threshold: 37
        ),
        Reference(
            clients: 1_000_000,
            corrupt: 0.05,
            dropout: 0.05,
            adversary: .curiousServer,
            degree: 38,
            threshold: 22
        ),
        Reference(clients: 100, corrupt: 0.33, dropout: 0, adversary: .curiousServer, degree: 26, threshold: 25),
    ]

    @Test(arguments: references)
    func parameterFinderReproducesFederatedCompute(_ reference: Reference) throws {
        let found = try GraphParameterFinder.parameters(
            cohortSize: reference.clients,
            threatModel: SecAggThreatModel(
                corruptRate: reference.corrupt,
                dropoutRate: reference.dropout,
                adversary: reference.adversary
            )
        )
        #expect(found.degree == reference.degree)
        #expect(found.threshold == reference.threshold)
        #expect(found.threshold >= 2)
    }

    @Test func infeasibleThreatModelsAreRefused() {
        #expect(throws: GraphParameterError.self) {
            try GraphParameterFinder.parameters(
                cohortSize: 100,
                threatModel: SecAggThreatModel(corruptRate: 0.5, dropoutRate: 0.5)
            )
        }
        #expect(throws: GraphParameterError.self) {
            try GraphParameterFinder.parameters(
                cohortSize: 100,
                threatModel: SecAggThreatModel(corruptRate: 0.3, dropoutRate: 0.31, adversary: .semiMaliciousServer)
            )
        }
    }

    @Test func hararyGraphIsRegularAndSymmetric() throws {
        var generator = SeededGenerator(seed: 11)
        let ids = deviceIds(31)
        let graph = try #require(NeighbourGraph.random(members: ids, degree: 8, using: &generator))
        for id in ids {
            let neighbours = graph.neighbours(of: id)
            #expect(neighbours.count == 8)
            #expect(Set(neighbours).count == 8)
            #expect(!neighbours.contains(id))
            for peer in neighbours {
                #expect(graph.neighbours(of: peer).contains(id))
                #expect(graph.areNeighbours(id, peer))
            }
        }
        #expect(Set(ids.compactMap { graph.point(of: $0) }) == Set((1...31).map { UInt64($0) }))
        #expect(NeighbourGraph(ring: ids, degree: 7) == nil)
        #expect(NeighbourGraph(ring: ids, degree: 32) == nil)
        #expect(NeighbourGraph(ring: ["a", "a", "b"], degree: 2) == nil)
    }

    @Test func shardConfigurationFallsBackToTheDensestGraphForSmallCohorts() throws {
        let threat = SecAggThreatModel(corruptRate: 0.1, dropoutRate: 0.3)
        let large = try SecAggConfiguration.forShard(
            cohortSize: 100,
            bitsPerValue: 16,
            vectorLength: 10,
            threatModel: threat
        )
        let expected = try GraphParameterFinder.parameters(cohortSize: 100, threatModel: threat)
        #expect(large.degree == expected.degree && large.threshold == expected.threshold)
        #expect(large.modulusBits == 23)
        let tiny = SecAggThreatModel(corruptRate: 0.2, dropoutRate: 0.4)
        #expect(throws: GraphParameterError.noDegree) {
            try GraphParameterFinder.parameters(cohortSize: 5, threatModel: tiny)
        }
        let small = try SecAggConfiguration.forShard(
            cohortSize: 5,
            bitsPerValue: 16,
            vectorLength: 10,
            threatModel: tiny
        )
        #expect(small.degree == 4)
        #expect(small.threshold == 2)
        #expect(NeighbourGraph(ring: deviceIds(5), degree: small.degree) != nil)
        #expect(throws: SecAggConfigurationError.self) {
            try SecAggConfiguration.forShard(
                cohortSize: 4,
                bitsPerValue: 16,
                vectorLength: 10,
                threatModel: SecAggThreatModel(corruptRate: 0.5, dropoutRate: 0.4)
            )
        }
    }

    /// A keyed ring is the same for the same cohort in any order, keeps every neighbourhood but
    /// those next to a leaver when one device leaves, and differs under another key.
    @Test func aKeyedRingIsStableForItsCohortAndUnpredictableWithoutTheKey() throws {
        let members = (0..<60).map { "watch-\($0)" }
        let key = Array(repeating: UInt8(7), count: 32)
        let graph = try #require(NeighbourGraph.keyed(members: members, degree: 8, ringKey: key))
        let again = try #require(NeighbourGraph.keyed(members: members.reversed(), degree: 8, ringKey: key))
        #expect(graph == again)
        #expect(graph.ring != members, "the ring is not the ids' order")
        let otherKey = Array(repeating: UInt8(9), count: 32)
        let other = try #require(NeighbourGraph.keyed(members: members, degree: 8, ringKey: otherKey))
        #expect(other.ring != graph.ring)
        let leaver = graph.ring[10]
        let smaller = try #require(
            NeighbourGraph.keyed(members: members.filter { $0 != leaver }, degree: 8, ringKey: key)
        )
        let changed = members.filter { $0 != leaver }.filter {
            Set(smaller.neighbours(of: $0)) != Set(graph.neighbours(of: $0))
        }
        #expect(changed.count == 8, "only the leaver's 8 neighbours change theirs: \(changed)")
    }
}
