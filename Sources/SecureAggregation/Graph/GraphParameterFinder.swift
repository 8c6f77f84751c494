internal import Foundation

/// What the shard may assume about a round's devices when it picks the graph.
public struct SecAggThreatModel: Sendable, Hashable {
    /// What the server is assumed to do.
    public struct Adversary: Sendable, Hashable {
        let semiMalicious: Bool
        /// Follows the protocol but looks at everything it sees (FedPulse's shard: DESIGN.md §5).
        public static let curiousServer = Adversary(semiMalicious: false)
        /// May also lie about who dropped out (Bell et al. 2020's semi-malicious server).
        public static let semiMaliciousServer = Adversary(semiMalicious: true)
    }

    public let corruptRate: Double
    public let dropoutRate: Double
    public let adversary: Adversary

    public init(corruptRate: Double, dropoutRate: Double, adversary: Adversary = .curiousServer) {
        self.corruptRate = corruptRate
        self.dropoutRate = dropoutRate
        self.adversary = adversary
    }

    /// The rates the CLI assumes unless told otherwise: 30 % of a shard's devices may drop out
    /// mid-round, 5 % may collude with it.
    public static let defaults = SecAggThreatModel(corruptRate: 0.05, dropoutRate: 0.3)
}

/// Why no graph was found.
public enum GraphParameterError: Error, Equatable, Sendable {
    /// A rate is outside [0, 1), the cohort outside 1…10^6, or the rates sum past what the
    /// threat model can tolerate (0.9 for a curious server, corrupt + 2·dropout ≤ 0.9 else).
    case infeasible(String)
    /// No even degree below n − 1 meets the bounds (small cohorts with high rates): use the
    /// complete graph.
    case noDegree
}

/// The (cohort, dropout, corrupt) → (degree, threshold) rule of Bell et al. 2020, as Google's
/// `fcp/secagg/server/graph_parameter_finder.cc` implements it, ported exactly.
///
/// It walks even degrees k = 2, 4, … and takes the first for which (1) the random Harary graph
/// stays connected after removing the corrupt and dropped devices, except with probability
/// 2^−41, and (2) a threshold t exists with P[a device has ≥ t corrupt neighbours] ≤ 2^−41/n
/// (security: no coalition rebuilds a survivor's key) and P[a device has < t surviving
/// neighbours] ≤ 2^−20/n (correctness: the round completes). Against a semi-malicious server
/// t is raised to ⌈(t + k − 1.25)/2⌉ so that two conflicting unmask requests cannot both meet
/// it. Security parameter 40, correctness parameter 20, as in fcp.
public enum GraphParameterFinder {
    static let securityParameter = 40.0
    static let correctnessParameter = 20.0
    static let small = 1e-14

    public static func parameters(
        cohortSize n: Int,
        threatModel: SecAggThreatModel
    ) throws(GraphParameterError) -> (degree: Int, threshold: Int) {
        let corrupt = threatModel.corruptRate
        let dropout = threatModel.dropoutRate
        guard n > 0, n <= 1_000_000 else { throw .infeasible("cohort \(n) not in 1...1000000") }
        guard (0..<1).contains(corrupt), (0..<1).contains(dropout) else {
            throw .infeasible("rates must be in [0, 1)")
        }
        if threatModel.adversary.semiMalicious {
            guard corrupt + 2 * dropout <= 0.9 else { throw .infeasible("corrupt + 2·dropout > 0.9") }
        } else {
            guard corrupt + dropout <= 0.9 else { throw .infeasible("corrupt + dropout > 0.9") }
        }
        var degree = 2
        while degree < n - 1 {
            if let threshold = threshold(n: n, degree: degree, threatModel: threatModel) {
                return (degree, threshold)
            }
            degree += 2
        }
        throw .noDegree
    }

    private static func logProbabilityDisconnected(n: Int, degree: Int, threatModel: SecAggThreatModel) -> Double {
        let logGapPairs = log(Double(n)) + log(Double(n - degree - 1)) - log(2.0)
        let maxCorrupt = Int(((threatModel.corruptRate + small) * Double(n)).rounded(.down))
        let maxDropped = Int(((threatModel.dropoutRate + small) * Double(n)).rounded(.down))
        let maxBad = maxCorrupt + maxDropped
        if degree > maxBad { return -.infinity }
        let numerator: Double = lgamma(Double(maxBad + 1)) + lgamma(Double(n - degree + 1))
        let denominator: Double = lgamma(Double(n + 1)) + lgamma(Double(maxBad - degree + 1))
        return logGapPairs + numerator - denominator
    }

    private static func threshold(n: Int, degree: Int, threatModel: SecAggThreatModel) -> Int? {
        let perEvent = securityParameter + 1
        guard logProbabilityDisconnected(n: n, degree: degree, threatModel: threatModel) < -perEvent * log(2.0) else {
            return nil
        }
        let maxCorrupt = Int(((threatModel.corruptRate + small) * Double(n)).rounded(.down))
        let minSurvivors = Int(((1 - threatModel.dropoutRate - small) * Double(n)).rounded(.up))
        guard let corruptNeighbours = Hypergeometric(total: n, marked: maxCorrupt, sampled: degree),
            let survivingNeighbours = Hypergeometric(total: n, marked: minSurvivors, sampled: degree)
        else { return nil }
        var t1 = corruptNeighbours.quantile(pow(2, -perEvent) / Double(n), complement: true)
        var t2 = survivingNeighbours.quantile(pow(2, -correctnessParameter) / Double(n))
        if survivingNeighbours.cdf(t2) < pow(2, -correctnessParameter) / Double(n) { t2 += 1 }
        if threatModel.adversary.semiMalicious { t1 = ((t1 + Double(degree) - 1.25) / 2).rounded(.up) }
        guard t2 > t1 else { return nil }
        return Int(max(t1 + 1, 2))
    }
}

extension SecAggConfiguration {
    /// The configuration a shard uses for a cohort of `cohortSize`: degree and threshold from
    /// `GraphParameterFinder`, and the smallest modulus the sum cannot wrap.
    ///
    /// Small cohorts with high rates have no sparse graph (`GraphParameterError.noDegree`);
    /// they fall back to the densest Harary graph (every other device, or all but one when
    /// n − 1 is odd) with the smallest threshold above the corrupt devices, t = ⌊corrupt·n⌋ + 1
    /// (at least 2), provided the expected survivors among a device's neighbours still reach it.
    public static func forShard(
        cohortSize: Int,
        bitsPerValue: Int,
        vectorLength: Int,
        threatModel: SecAggThreatModel
    ) throws -> SecAggConfiguration {
        let degree: Int
        let threshold: Int
        do {
            (degree, threshold) = try GraphParameterFinder.parameters(cohortSize: cohortSize, threatModel: threatModel)
        } catch .noDegree {
            degree = (cohortSize - 1) % 2 == 0 ? cohortSize - 1 : cohortSize - 2
            threshold = max(2, Int((threatModel.corruptRate * Double(cohortSize)).rounded(.down)) + 1)
            let expectedLive = Int(((1 - threatModel.dropoutRate) * Double(degree)).rounded(.down))
            guard threshold <= expectedLive else {
                throw SecAggConfigurationError.invalidGraph(degree: degree, threshold: threshold, cohort: cohortSize)
            }
        }
        return try SecAggConfiguration(
            bitsPerValue: bitsPerValue,
            modulusBits: requiredModulusBits(bitsPerValue: bitsPerValue, cohortSize: cohortSize),
            cohortSize: cohortSize,
            vectorLength: vectorLength,
            degree: degree,
            threshold: threshold
        )
    }
}
