import Learning
import Testing

@testable import Federation

struct ServerOptimizerTests {
    static let start: [Float] = [1, 2, 3, 0]
    static let pseudoGradients: [[Float]] = [[0.5, -0.2, 0, 1e-4], [0.1, 0.3, -0.4, 0]]

    struct Case: Sendable, CustomTestStringConvertible {
        let configuration: ServerOptimizerConfiguration
        /// Weights after two steps, computed by hand (in double precision) from the update rules.
        let expected: [Double]
        var testDescription: String { "\(configuration.name) β₁ \(configuration.beta1.map { "\($0)" } ?? "default")" }
    }

    static let cases: [Case] = [
        Case(configuration: .init(name: "fedavg", learningRate: 0.5), expected: [1.3, 2.05, 2.8, 5e-05]),
        Case(configuration: .init(name: "fedavgm"), expected: [2.05, 1.92, 2.6, 0.00019]),
        Case(configuration: .init(name: "fedadam"), expected: [1.20429193, 1.93729446, 2.90246816, 0.000953493608]),
        Case(configuration: .init(name: "fedyogi"), expected: [1.20378923, 1.93724681, 2.90246875, 0.000950023751]),
        Case(configuration: .init(name: "fedadagrad"), expected: [1.11937339, 1.98347333, 2.90024969, 0.00498756211]),
        Case(
            configuration: .init(name: "fedadagrad", beta1: 0.9),
            expected: [1.02074527, 1.99336886, 2.99002497, 0.000947636801]
        ),
    ]

    @Test(arguments: cases)
    func twoStepsMatchHandComputedValues(_ testCase: Case) throws {
        var optimizer = try testCase.configuration.makeOptimizer()
        #expect(optimizer.name == testCase.configuration.name)
        var weights = Self.start
        for delta in Self.pseudoGradients { optimizer.step(weights: &weights, pseudoGradient: delta) }
        for (actual, expected) in zip(weights, testCase.expected) {
            #expect(abs(Double(actual) - expected) <= 1e-6 + 1e-5 * abs(expected), "\(weights) vs \(testCase.expected)")
        }
    }

    @Test func adaptiveDefaultsAreThePapers() throws {
        let optimizer = try #require(
            try ServerOptimizerConfiguration(name: "FedYogi").makeOptimizer() as? AdaptiveServerOptimizer
        )
        #expect(optimizer.rule == .yogi)
        #expect(
            optimizer.beta1 == 0.9 && optimizer.beta2 == 0.99 && optimizer.tau == 1e-3 && optimizer.learningRate == 0.1
        )
    }

    @Test func factoryBuildsEveryNamedOptimizer() throws {
        for name in ServerOptimizerConfiguration.names {
            #expect(try ServerOptimizers.make(named: name.uppercased()).name == name)
        }
        let sgd = try #require(try ServerOptimizers.make(named: "fedavg", learningRate: 0.5) as? ServerSGD)
        #expect(sgd.learningRate == 0.5)
    }

    @Test func unknownNamesAndBadHyperparametersAreRejected() {
        #expect(
            throws: LearningError(
                code: .unknownName,
                detail: "unknown server optimizer 'sgd'; expected one of fedavg, fedavgm, fedadam, fedyogi, fedadagrad"
            )
        ) {
            try ServerOptimizerConfiguration(name: "sgd").makeOptimizer()
        }
        #expect(throws: LearningError(code: .invalidConfig, detail: "beta2 must be in [0, 1), got 1.0")) {
            try ServerOptimizerConfiguration(name: "fedadam", beta2: 1).makeOptimizer()
        }
        #expect(
            throws: LearningError(code: .invalidConfig, detail: "learningRate must be positive and finite, got nan")
        ) {
            try ServerOptimizerConfiguration(name: "fedavg", learningRate: .nan).makeOptimizer()
        }
    }
}
