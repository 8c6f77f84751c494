/// Each device's ε against the aggregator when noise is local.
///
/// Why a second account: under local placement the aggregator sees every noised update and who
/// sent it, so sampling amplifies nothing against it; what protects a device is only its own
/// Gaussian mechanisms (noise std z·C on an update of norm ≤ C), composed over the rounds it took
/// part in. The amplified ε of the main accountant holds against observers of the model only.
///
/// Composing Gaussian mechanisms is exact in one number: at every Rényi order α the RDP of a
/// round is α/(2z²), so n rounds with multipliers zᵢ are one Gaussian with 1/z² = Σ 1/zᵢ². Each
/// device therefore keeps a round count and that precision sum, keyed by its salted hash; the
/// worst device is the one with the largest sum.
public struct LocalDeviceAccounts: Hashable, Sendable {
    /// One device's local-noise rounds.
    public struct Account: Hashable, Sendable {
        /// Local-noise rounds it took part in.
        public var rounds: Int
        /// Σ 1/zᵢ² over those rounds (∞ once a round had no noise).
        public var precision: Double
    }

    private(set) var accounts: [String: Account] = [:]
    /// Rounds whose contributors were not named: counted against every device, so the worst
    /// device's figure stays an upper bound.
    private(set) var unattributed = Account(rounds: 0, precision: 0)

    public init() {}

    /// Records one released local-noise round with multiplier `noiseMultiplier` for the devices
    /// keyed by `deviceKeys` (nil: unknown, counted against all).
    mutating func record(noiseMultiplier: Double, deviceKeys: Set<String>?) {
        let precision = noiseMultiplier > 0 ? 1 / (noiseMultiplier * noiseMultiplier) : .infinity
        guard let deviceKeys else {
            unattributed.rounds += 1
            unattributed.precision += precision
            return
        }
        for key in deviceKeys {
            var account = accounts[key] ?? Account(rounds: 0, precision: 0)
            account.rounds += 1
            account.precision += precision
            accounts[key] = account
        }
    }

    /// The device with the largest precision sum (plus the unattributed rounds).
    public var worst: Account {
        let device = accounts.values.max { $0.precision < $1.precision } ?? Account(rounds: 0, precision: 0)
        return Account(
            rounds: device.rounds + unattributed.rounds,
            precision: device.precision + unattributed.precision
        )
    }

    /// Whether any local-noise round was recorded.
    public var isEmpty: Bool { accounts.isEmpty && unattributed.rounds == 0 }

    /// The worst device's ε at `delta`: the RDP bound of one Gaussian with 1/z² = its precision.
    public func worstEpsilon(delta: Double) -> Double {
        let precision = worst.precision
        guard precision > 0 else { return 0 }
        guard precision.isFinite else { return .infinity }
        var accountant = RDPAccountant()
        accountant.compose(SubsampledGaussian(samplingRate: 1, noiseMultiplier: 1 / precision.squareRoot()))
        return accountant.epsilon(delta: delta).epsilon
    }
}
