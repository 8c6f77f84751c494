/// "What z do I need for ε over T rounds?": the inverse of the accountants, by bisection.
///
/// Why bisection: ε is monotone (non-increasing) in z for fixed q, T and δ, so bisection on the
/// forward accountant is exact to the tolerance and never overshoots on the unsafe side: the
/// returned z always satisfies ε(z) ≤ target.
public enum NoiseCalibration {
    /// Which forward accountant to invert.
    public enum Method: String, Codable, Hashable, Sendable {
        /// Fast; slightly pessimistic, so it asks for a little more noise.
        case rdp
        /// Tighter, slower (one PLD per bisection step).
        case pld
    }

    /// The smallest z (to relative `tolerance`) with ε(q, z, T, δ) ≤ `targetEpsilon`; nil when even
    /// z = `maximumNoiseMultiplier` is not enough.
    public static func noiseMultiplier(
        targetEpsilon: Double,
        delta: Double,
        samplingRate: Double,
        rounds: Int,
        method: Method = .rdp,
        tolerance: Double = 1e-4,
        maximumNoiseMultiplier: Double = 1e4
    ) -> Double? {
        precondition(targetEpsilon > 0 && delta > 0 && delta < 1 && rounds > 0, "invalid calibration target")
        precondition((0...1).contains(samplingRate) && samplingRate > 0, "sampling rate must be in (0, 1]")
        func epsilon(_ z: Double) -> Double {
            let mechanism = SubsampledGaussian(samplingRate: samplingRate, noiseMultiplier: z)
            switch method {
            case .rdp: return RDPAccountant().composing(mechanism, count: rounds).epsilon(delta: delta).epsilon
            case .pld: return PLDAccountant().composing(mechanism, count: rounds).epsilon(delta: delta).epsilon
            }
        }
        var high = 1.0
        while epsilon(high) > targetEpsilon {
            high *= 2
            if high > maximumNoiseMultiplier { return nil }
        }
        var low = high / 2
        if high == 1 {
            while low > 1e-6 && epsilon(low) <= targetEpsilon {
                high = low
                low /= 2
            }
        }
        // Invariant: ε(high) ≤ target < ε(low).
        while high - low > tolerance * high {
            let middle = (low + high) / 2
            if epsilon(middle) <= targetEpsilon { high = middle } else { low = middle }
        }
        return high
    }
}
