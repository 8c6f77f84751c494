import Foundation

/// Standard normal samples from any `RandomNumberGenerator`.
///
/// Why a generator parameter: tests pass a seeded generator and get the same noise every run.
/// Production must pass `SystemRandomNumberGenerator` (the OS CSPRNG): DP noise from a
/// predictable generator can be subtracted out and protects nothing.
public enum GaussianSampler {
    /// One N(0, 1) draw (Box–Muller on 53-bit uniforms; u₁ ∈ (0, 1] so log never sees 0).
    public static func standardNormal(using generator: inout some RandomNumberGenerator) -> Double {
        let u1 = Double(generator.next() >> 11 + 1) * 0x1p-53
        let u2 = Double(generator.next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Adds N(0, σ²) independently to every coordinate.
    public static func addNoise(
        to vector: inout [Float],
        standardDeviation: Double,
        using generator: inout some RandomNumberGenerator
    ) {
        precondition(standardDeviation >= 0 && standardDeviation.isFinite, "invalid noise standard deviation")
        guard standardDeviation > 0 else { return }
        for index in vector.indices {
            vector[index] += Float(standardDeviation * standardNormal(using: &generator))
        }
    }
}

/// Where the noise of DP-FedAvg is added, and which mechanism it is.
///
/// A closed set (these are the only places noise can go), hence an enum.
public enum NoisePlacement: String, Codable, Hashable, Sendable, CaseIterable {
    /// The trusted global aggregator adds N(0, z²C²) once to the sum.
    case central
    /// Each selected worker adds N(0, z²C²/n) with n the expected cohort, so the sum carries the
    /// full noise when the expected cohort reports; pairs with secure aggregation.
    case distributed
    /// Each worker adds N(0, z²C²) to its own update: protects against the aggregator too.
    case local
    /// No noise: no DP guarantee (the accountant reports ε = ∞).
    case off
    /// Each device adds integer Skellam noise after rounding (`SkellamEncoder`) and the shard
    /// releases only the secure-aggregated sum: the discrete mechanism that survives summation,
    /// accounted with the securely counted survivors (`SkellamRDP`). No Gaussian noise at all.
    case skellam
}

/// The DP-FedAvg arithmetic (McMahan et al. 2018) for one round: who adds how much noise, what
/// the accountant must be told, and the fixed denominator.
///
/// Why fixed: under DP every client weighs 1 and the sum is divided by the expected cohort
/// m = q·N, not by the number that reported; dividing by a data-dependent count would leak it
/// and break the sensitivity bound C/m.
public struct DPFedAvgNoise: Hashable, Codable, Sendable {
    /// z, the planned noise multiplier.
    public var noiseMultiplier: Double
    /// C, the clip norm.
    public var clipNorm: Double
    /// Where the noise is added.
    public var placement: NoisePlacement
    /// m = q·N, the expected number of reporting workers.
    public var expectedCohort: Double

    /// Plans a round with sampling rate q over a population of N workers.
    public init(
        noiseMultiplier: Double,
        clipNorm: Double,
        placement: NoisePlacement,
        samplingRate: Double,
        population: Int
    ) {
        self.init(
            noiseMultiplier: noiseMultiplier,
            clipNorm: clipNorm,
            placement: placement,
            expectedCohort: samplingRate * Double(population)
        )
    }

    /// Plans a round with an explicit expected cohort m.
    public init(noiseMultiplier: Double, clipNorm: Double, placement: NoisePlacement, expectedCohort: Double) {
        self.noiseMultiplier = noiseMultiplier
        self.clipNorm = clipNorm
        self.placement = placement
        self.expectedCohort = expectedCohort
    }

    /// The denominator of the DP-FedAvg average: m, whoever reported.
    public var fixedDenominator: Double { expectedCohort }

    /// σ each worker adds to its clipped update: zC/√m (distributed), zC (local), else 0.
    public var workerNoiseStandardDeviation: Double {
        switch placement {
        case .distributed: expectedCohort > 0 ? noiseMultiplier * clipNorm / expectedCohort.squareRoot() : 0
        case .local: noiseMultiplier * clipNorm
        case .central, .off, .skellam: 0
        }
    }

    /// σ the global aggregator adds to the sum: zC (central), else 0.
    public var aggregatorNoiseStandardDeviation: Double {
        placement == .central ? noiseMultiplier * clipNorm : 0
    }

    /// The noise multiplier that protects one contributor in the released sum when `reporting`
    /// workers answered: what the accountant must compose.
    ///
    /// - central: z — the aggregator adds N(0, z²C²) once, whoever reported.
    /// - distributed: z·√((k−1)/m). Each of the k reporting workers adds N(0, z²C²/m), so the sum
    ///   carries variance k·z²C²/m; but a target's own share does not protect it: under the
    ///   add-or-remove relation the accountant uses, removing the target removes its share too, so
    ///   what hides its contribution is the noise of the OTHER k−1 shares, variance
    ///   (k−1)·z²C²/m = (z·√((k−1)/m))²·C². With one reporter nothing protects it (0, ε = ∞).
    /// - local: z — each update carries N(0, z²C²) of its own; against observers of the model this
    ///   is the conservative figure (it ignores the k−1 other devices' noise in the sum).
    /// - off: 0.
    /// - skellam: 0 — there is no Gaussian noise; the auditor derives the Skellam round's cost
    ///   from its own parameters and the survivors (`SkellamRelease`).
    public func effectiveNoiseMultiplier(reporting: Int) -> Double {
        effectiveNoiseMultiplier(reporting: Double(max(reporting, 0)))
    }

    /// ``effectiveNoiseMultiplier(reporting:)`` for a real-valued count: the planned cost of a
    /// round in which exactly the expected cohort m reports.
    public func effectiveNoiseMultiplier(reporting: Double) -> Double {
        switch placement {
        case .central, .local: noiseMultiplier
        case .distributed:
            expectedCohort > 0 && reporting > 1
                ? noiseMultiplier * ((reporting - 1) / expectedCohort).squareRoot() : 0
        case .off, .skellam: 0
        }
    }
}
