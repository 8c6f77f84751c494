import Foundation
public import Privacy

/// One ledger entry as a person reads it: the row of `audit tail` and of the compliance report.
public struct LedgerRow: Sendable, Encodable {
    public var sequence: Int
    public var kind: String
    public var round: Int?
    public var participants: Int?
    public var participantsByClass: [String: Int]?
    public var samplingRate: Double?
    public var noiseMultiplier: Double?
    public var effectiveNoiseMultiplier: Double?
    public var clipNorm: Double?
    public var placement: String?
    public var epsilonRDP: Double?
    public var epsilonPLD: Double?
    public var epsilon: Double?
    public var delta: Double
    public var budget: Double
    public var budgetLeft: Double?
    public var clippedUpdates: Int?
    public var rejectedByReason: [String: Int]?
    public var modelHash: String?
    /// Salted hashes of the contributing devices (complete entries).
    public var participantHashes: [String]?
    /// Against the aggregator under local noise: the worst device's ε and its rounds (complete entries).
    public var epsilonLocalWorstDevice: Double?
    public var localRoundsWorstDevice: Int?
    /// The shards' secure aggregation (complete entries): "watch/0 15 of 17 (k 8, t 5, 20 bits)", …
    public var secureAggregation: [String]?
    /// The Skellam numbers of a `skellam` round: "γ 64, μ 400, d 1024, 14 bits, n ≥ 10".
    public var skellam: String?
    /// The securely counted survivors a `skellam` completion was accounted with.
    public var survivors: Int?
    public var status: String

    public init(_ entry: LedgerEntry) {
        sequence = entry.sequence
        kind = entry.kind.rawValue
        round = entry.round
        participantsByClass = entry.participantsByClass
        participants = entry.participantsByClass.map { $0.values.reduce(0, +) } ?? entry.participantHashes?.count
        samplingRate = entry.mechanism?.samplingRate
        noiseMultiplier = entry.mechanism?.noiseMultiplier
        effectiveNoiseMultiplier = entry.mechanism?.effectiveNoiseMultiplier
        clipNorm = entry.mechanism?.clipNorm
        placement = entry.mechanism?.placement.rawValue
        epsilonRDP = entry.epsilonRDP
        epsilonPLD = entry.epsilonPLD
        let spent = [entry.epsilonRDP, entry.epsilonPLD].compactMap { $0 }.min()
        epsilon = spent
        delta = entry.delta
        budget = entry.budget
        budgetLeft = spent.map { max(0, entry.budget - $0) }
        clippedUpdates = entry.clippedUpdates
        rejectedByReason = entry.rejectedByReason
        modelHash = entry.modelHash
        participantHashes = entry.participantHashes
        epsilonLocalWorstDevice = entry.epsilonLocalWorstDevice
        localRoundsWorstDevice = entry.localRoundsWorstDevice
        secureAggregation = entry.secureAggregation.map { records in
            records.map { record in
                "\(record.slot) \(record.survivors) of \(record.advertised) (k \(record.degree), t \(record.threshold), \(record.modulusBits) bits)"
            }
        }
        skellam = entry.mechanism?.skellam.map { numbers in
            "γ \(numbers.scale), μ \(numbers.deviceVariance), d \(numbers.dimension), \(numbers.valueBits) bits, n ≥ \(numbers.minimumSurvivors)"
        }
        survivors = entry.mechanism?.survivors
        switch entry.kind {
        case .approve: status = "approved"
        case .deny: status = "denied: \(entry.reason ?? "-")"
        case .complete:
            status = (entry.clippedUpdates ?? 0) > 0 ? "completed, \(entry.clippedUpdates ?? 0) clipped" : "completed"
            if let survivors = entry.mechanism?.survivors { status += ", \(survivors) survivors" }
            if let flag = entry.detail { status += "; flagged: \(flag)" }
        default: status = entry.kind.rawValue
        }
    }

    public static let tableHeader =
        "  seq  round  participants      q        z        C    ε spent  budget left  status"

    /// A fixed-width table row (the `audit tail` output).
    public var tableLine: String {
        func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        return [
            "\(sequence)".leftPadded(5), round.map { "\($0)" }?.leftPadded(6) ?? "     -",
            participants.map { "\($0)" }?.leftPadded(13) ?? "            -",
            number(samplingRate, "%.4f").leftPadded(7), number(noiseMultiplier, "%.4f").leftPadded(8),
            number(clipNorm, "%.3f").leftPadded(8), number(epsilon, "%.4f").leftPadded(10),
            number(budgetLeft, "%.4f").leftPadded(12), status,
        ].joined(separator: " ")
    }
}
