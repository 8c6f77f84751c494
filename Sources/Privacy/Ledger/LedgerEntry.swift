import Foundation

/// One line of the privacy ledger: what the auditor decided or recorded, with the running totals.
///
/// Why every entry repeats the totals: a reader (`fedpulse audit tail`, an external auditor)
/// can trust the last verified line alone, and a restarted auditor rebuilds its state from the
/// entries. Each entry carries the SHA-256 of the previous line's exact bytes (so dropping,
/// reordering or editing breaks the chain), its own sequence number, and a digest of its own
/// canonical bytes (so an edit is pinned to the edited line, not the one after it).
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
        /// The multiplier actually present in the released sum (complete entries).
        public var effectiveNoiseMultiplier: Double?

        public init(
            samplingRate: Double,
            noiseMultiplier: Double,
            clipNorm: Double,
            placement: NoisePlacement,
            expectedCohort: Double,
            effectiveNoiseMultiplier: Double? = nil
        ) {
            self.samplingRate = samplingRate
            self.noiseMultiplier = noiseMultiplier
            self.clipNorm = clipNorm
            self.placement = placement
            self.expectedCohort = expectedCohort
            self.effectiveNoiseMultiplier = effectiveNoiseMultiplier
        }
    }

    /// Position in the ledger, from 0 (the header); set by `LedgerChain`.
    public var sequence: Int = 0
    /// Lowercase hex SHA-256 of the previous line's bytes (64 zeros for the first); set by `LedgerChain`.
    public var previousHash: String = ""
    /// Lowercase hex SHA-256 of this line with `digest` empty; set by `LedgerChain`.
    public var digest: String = ""
    /// Format version of the entry.
    public var version: Int = 1

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
    /// Salted SHA-256 hashes of the devices selected for an approved round.
    public var participantHashes: [String]?
    /// Why a round was denied (deny entries).
    public var reason: String?
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
    /// Per-run salt of participation keys, hex (header entries).
    public var participationSalt: String?

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
