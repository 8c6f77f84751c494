import Foundation

/// One line of the privacy ledger: what the auditor decided or recorded, with the running totals.
///
/// Why every entry repeats the totals: a reader (`fedpulse audit tail`, an external auditor)
/// can trust the last verified line alone, and a restarted auditor rebuilds its state from the
/// entries. Each entry carries the SHA-256 of the previous line's exact bytes (so dropping,
/// reordering or editing breaks the chain), its own sequence number, and a digest of its own
/// canonical bytes (so an edit is pinned to the edited line, not the one after it), signed with
/// the auditor's Ed25519 key (so a forger who re-computes every digest and link is still caught).
///
/// Version 2 adds the signature, the header's public key, the cohort bound of approvals, the
/// salted contributor hashes of completions (approvals carry none) and the per-device ε of
/// local-noise rounds. Later fields (the Skellam numbers, the secure-aggregation records) are
/// optional additions: older lines carry none and still verify.
public struct LedgerEntry: Codable, Hashable, Sendable {
    /// What an entry records; open for new kinds, hence a struct with static members.
    public struct Kind: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// First entry of a run: configuration, budget and the participation salt.
        public static let header = Kind(rawValue: "header")
        /// A round was approved and its privacy cost counted as spent.
        public static let approve = Kind(rawValue: "approve")
        /// A round was denied; nothing was spent.
        public static let deny = Kind(rawValue: "deny")
        /// An approved round finished: who took part, what was rejected, the noise actually present.
        public static let complete = Kind(rawValue: "complete")
        public var description: String { rawValue }
    }

    /// The mechanism parameters of a round, as proposed and as actually realised.
    public struct Mechanism: Codable, Hashable, Sendable {
        public var samplingRate: Double
        public var noiseMultiplier: Double
        public var clipNorm: Double
        public var placement: NoisePlacement
        public var expectedCohort: Double
        /// The multiplier actually present in the released sum (complete entries); for
        /// `skellam`, the Gaussian z with the same leading RDP term, √((n_s − 1)·μ)/Δ2.
        public var effectiveNoiseMultiplier: Double?
        /// The Skellam numbers of a `skellam` round (approve, deny and complete entries).
        public var skellam: SkellamProposal?
        /// The securely counted survivors a `skellam` round was accounted with: the smallest
        /// over its shards' records (complete entries).
        public var survivors: Int?

        public init(
            samplingRate: Double,
            noiseMultiplier: Double,
            clipNorm: Double,
            placement: NoisePlacement,
            expectedCohort: Double,
            effectiveNoiseMultiplier: Double? = nil,
            skellam: SkellamProposal? = nil,
            survivors: Int? = nil
        ) {
            self.samplingRate = samplingRate
            self.noiseMultiplier = noiseMultiplier
            self.clipNorm = clipNorm
            self.placement = placement
            self.expectedCohort = expectedCohort
            self.effectiveNoiseMultiplier = effectiveNoiseMultiplier
            self.skellam = skellam
            self.survivors = survivors
        }
    }

    /// Position in the ledger, from 0 (the header); set by `LedgerChain`.
    public var sequence: Int = 0
    /// Lowercase hex SHA-256 of the previous line's bytes (64 zeros for the first); set by `LedgerChain`.
    public var previousHash: String = ""
    /// Lowercase hex SHA-256 of this line with `digest` and `signature` empty; set by `LedgerChain`.
    public var digest: String = ""
    /// Hex Ed25519 signature of the digest's 32 bytes by the auditor's key; set by `LedgerChain`.
    public var signature: String?
    /// Format version of the entry.
    public var version: Int = 2

    public var kind: Kind
    public var round: Int?
    public var mechanism: Mechanism?
    /// Reporting workers by device class (complete entries).
    public var participantsByClass: [String: Int]?
    /// Rejected updates by `RejectReason` raw value (complete entries); includes flagged huge norms.
    public var rejectedByReason: [String: Int]?
    /// Digest of the model the round produced (complete entries).
    public var modelHash: String?
    /// Updates clipped to the clip norm in this round (flags for possibly poisoned devices).
    public var clippedUpdates: Int?
    /// Salted SHA-256 hashes (under this ledger's header salt) of the workers whose updates are in
    /// the released sum (complete entries; version 1 put the coordinator's hashes in approvals).
    public var participantHashes: [String]?
    /// The most contributors the approved round may count (approve entries): the listed cohort's
    /// size, or the population under Poisson self-selection. A completion claiming more is refused.
    public var cohortBound: Int?
    /// Against the aggregator, which sees each noised update and its sender (local placement
    /// only): the ε of the device that took part in the most local rounds, composing its own
    /// Gaussian mechanisms without amplification by sampling (complete entries).
    public var epsilonLocalWorstDevice: Double?
    /// How many local-noise rounds that worst device took part in (complete entries).
    public var localRoundsWorstDevice: Int?
    /// The shards' secure-aggregation records of the round (complete entries): which rounds
    /// were secure-aggregated, with what survivors, graph and bits.
    public var secureAggregation: [SecAggShardRecord]?
    /// Why a round was denied (deny entries): a `Verdict.DenyReason` raw value.
    public var reason: String?
    /// What exactly was refused, for people (deny entries), e.g. `z = 0.5 < 0.7`; on a complete
    /// entry, what the auditor flagged (a shard that released a sum below the minimum survivors).
    public var detail: String?
    /// Cumulative ε by RDP after this entry (`Infinity` in JSON when unbounded).
    public var epsilonRDP: Double?
    /// Cumulative ε by PLD after this entry; nil when the PLD accountant is off.
    public var epsilonPLD: Double?
    /// The δ all ε values are for.
    public var delta: Double
    /// The ε budget being enforced.
    public var budget: Double
    /// Which ε the budget is enforced on ("rdp", "pld", "tightest") (header entries).
    public var enforcement: String?
    /// Grid step of the PLD accountant, nil when off (header entries).
    public var pldDiscretization: Double?
    /// Per-run salt of participation keys, hex (header entries); never published on the PUB feed.
    public var participationSalt: String?
    /// The auditor's Ed25519 public key, hex (header entries). Informative only: a forger writes
    /// his own here, so `audit verify --public-key` checks against a key obtained out of band.
    public var signingPublicKey: String?

    public init(kind: Kind, round: Int? = nil, delta: Double, budget: Double) {
        self.kind = kind
        self.round = round
        self.delta = delta
        self.budget = budget
    }
}

/// The one canonical JSON encoding of entries, so hashes are reproducible.
///
/// Sorted keys, no escaped slashes, no whitespace, non-finite numbers as strings.
enum CanonicalJSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity",
            negativeInfinity: "-Infinity",
            nan: "NaN"
        )
        return decoder
    }
}
