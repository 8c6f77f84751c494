import Foundation
import Privacy

/// Recomputes, with the public accountants alone, the ε every ledger entry should carry.
///
/// The rule the auditor promises (DESIGN.md §4, `PrivacyAuditor`): a round is spent the moment it
/// is approved, at the noise protecting one contributor if the expected cohort m reports (z for
/// central and local, z·√((m−1)/m) for distributed); when it completes, its cost becomes that of
/// the noise actually present (the entry's effective z). So after each entry the total is the composition of every
/// completed round at its effective z and every approved, not yet completed round at its planned z.
struct LedgerReplay {
    struct Check: Sendable {
        let sequence: Int
        let kind: String
        let round: Int?
        let recorded: Double
        let expected: Double
        var relativeError: Double { relativeDifference(recorded, expected) }
    }

    /// Every entry's recorded RDP ε against the recomputed one.
    var rdp: [Check] = []
    /// Every complete entry's recorded PLD ε against an incremental PLD account (when requested).
    var pld: [Check] = []
    /// The mechanisms of the completed rounds, in completion order.
    var completed: [SubsampledGaussian] = []
    /// Approved round ids, in order.
    var approved: [Int] = []
    /// Approved rounds that never completed (abandoned: too few contributors, retried under a new
    /// id), at their planned z: still spent, as the auditor promises.
    var abandoned: [SubsampledGaussian] = []

    init(entries: [LedgerEntry], pldDiscretization: Double? = nil) {
        let delta = entries.first?.delta ?? 0
        var settled = RDPAccountant()
        var settledPLD = pldDiscretization.map { PLDAccountant(discretization: $0) }
        var pending: [(round: Int, mechanism: SubsampledGaussian)] = []
        for entry in entries {
            switch entry.kind {
            case .approve:
                guard let round = entry.round, let mechanism = entry.mechanism else { continue }
                let z = DPFedAvgNoise(
                    noiseMultiplier: mechanism.noiseMultiplier,
                    clipNorm: mechanism.clipNorm,
                    placement: mechanism.placement,
                    expectedCohort: mechanism.expectedCohort
                ).effectiveNoiseMultiplier(reporting: mechanism.expectedCohort)
                pending.append((round, SubsampledGaussian(samplingRate: mechanism.samplingRate, noiseMultiplier: z)))
                approved.append(round)
            case .complete:
                guard let round = entry.round, let mechanism = entry.mechanism,
                    let effective = mechanism.effectiveNoiseMultiplier
                else { continue }
                pending.removeAll { $0.round == round }
                let released = SubsampledGaussian(samplingRate: mechanism.samplingRate, noiseMultiplier: effective)
                settled.compose(released)
                completed.append(released)
                if var account = settledPLD {
                    account.compose(released)
                    settledPLD = account
                    if pending.isEmpty, let recorded = entry.epsilonPLD {
                        pld.append(
                            Check(
                                sequence: entry.sequence,
                                kind: entry.kind.rawValue,
                                round: entry.round,
                                recorded: recorded,
                                expected: account.epsilon(delta: delta).epsilon
                            )
                        )
                    }
                }
            default:
                break
            }
            abandoned = pending.map(\.mechanism)
            guard let recorded = entry.epsilonRDP else { continue }
            var total = settled
            for round in pending { total.compose(round.mechanism) }
            rdp.append(
                Check(
                    sequence: entry.sequence,
                    kind: entry.kind.rawValue,
                    round: entry.round,
                    recorded: recorded,
                    expected: total.epsilon(delta: delta).epsilon
                )
            )
        }
    }

    var worstRDP: Double { rdp.map(\.relativeError).max() ?? 0 }
    var worstPLD: Double { pld.map(\.relativeError).max() ?? 0 }

    func describe(_ checks: [Check]) -> String {
        checks.map {
            "#\($0.sequence) \($0.kind) round \($0.round.map(String.init) ?? "-"): ledger \($0.recorded), recomputed \($0.expected)"
        }.joined(separator: "\n")
    }
}

/// |a − b| / max(|a|, |b|), 0 when both are 0 (equal infinities count as equal).
func relativeDifference(_ a: Double, _ b: Double) -> Double {
    if a == b { return 0 }
    return abs(a - b) / max(abs(a), abs(b))
}
