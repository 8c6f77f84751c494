import ArgumentParser
import Foundation
import SecureAggregation

extension FedPulse.PrivacyCalculator {
    /// A shard's SecAgg+ numbers for its cohort size, before a run: what `--secure-aggregation`
    /// will use, so an operator can size shards (`--shards-per-class`) and rates up front.
    struct SecAgg: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "secagg",
            abstract: "Degree, threshold and modulus of one shard's SecAgg+ round for its cohort size.",
            discussion: """
                The same rule the shard and its devices apply to every round.open: Google fcp's graph \
                parameter finder for the degree k and threshold t at the dropout and corrupt rates (a \
                semi-honest shard), then the smallest modulus b = bits + ⌈log2 n⌉ the sum cannot wrap. \
                Each device does up to 2k X25519 agreements a round: k for its masks, and k for \
                sealing shares, of which those with a neighbour it met in an earlier round are cached. \
                Also prints the smallest cohort with a graph: the coordinator folds \
                smaller shard groups into the class's other shards.
                """
        )

        @Option(help: "Devices in one shard's round, comma-separated (e.g. 50,100,1000).")
        var devices: String
        @Option(help: "Expected fraction of a shard's devices that drop out mid-round, [0, 0.5).")
        var dropoutRate: Double = SecAggThreatModel.defaults.dropoutRate
        @Option(help: "Assumed fraction of devices colluding with the shard, [0, 0.5).")
        var corruptRate: Double = SecAggThreatModel.defaults.corruptRate
        @Option(help: "Bits per quantized value (2…32).")
        var valueBits: Int = 16
        @Flag(
            help:
                "Print one JSON object: smallestCohort, rows. Each row has devices and degree, threshold and modulusBits, or error."
        )
        var json = false

        func validate() throws {
            guard (0..<0.5).contains(dropoutRate), (0..<0.5).contains(corruptRate) else {
                throw ValidationError("--dropout-rate and --corrupt-rate must be in [0, 0.5)")
            }
            guard (2...32).contains(valueBits) else { throw ValidationError("--value-bits must be in 2…32") }
            let allowed = 2...SecAggConfiguration.maxCohort
            guard let sizes = cohorts, !sizes.isEmpty, sizes.allSatisfy({ allowed.contains($0) }) else {
                throw ValidationError("--devices must list cohort sizes in 2…\(SecAggConfiguration.maxCohort)")
            }
        }

        var cohorts: [Int]? {
            let parts = devices.split(separator: ",", omittingEmptySubsequences: false)
                .map { Int($0.trimmingCharacters(in: .whitespaces)) }
            return parts.contains(nil) ? nil : parts.compactMap { $0 }
        }

        func run() throws {
            let threat = SecAggThreatModel(corruptRate: corruptRate, dropoutRate: dropoutRate)
            let smallest = SecAggConfiguration.smallestCohort(bitsPerValue: valueBits, threatModel: threat)
            let rows = (cohorts ?? []).map { cohort in
                (
                    devices: cohort,
                    plan: Result {
                        try SecAggConfiguration.forShard(
                            cohortSize: cohort,
                            bitsPerValue: valueBits,
                            vectorLength: 1,
                            threatModel: threat
                        )
                    }
                )
            }
            if json {
                let objects: [[String: Any]] = rows.map { row in
                    switch row.plan {
                    case .success(let plan):
                        [
                            "devices": row.devices, "degree": plan.degree, "threshold": plan.threshold,
                            "modulusBits": plan.modulusBits,
                        ]
                    case .failure(let error): ["devices": row.devices, "error": "\(error)"]
                    }
                }
                var object: [String: Any] = ["rows": objects]
                if let smallest { object["smallestCohort"] = smallest }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("devices  degree k  threshold t  modulus b  X25519 per device and round (masks + new share peers)")
            for row in rows {
                let devices = String(format: "%7d", row.devices)
                switch row.plan {
                case .success(let plan):
                    print(
                        devices + String(format: "  %8d  %11d  %9d  ", plan.degree, plan.threshold, plan.modulusBits)
                            + "\(plan.degree) + up to \(plan.degree)"
                    )
                case .failure(let error):
                    print("\(devices)  no graph at these rates (\(error))")
                }
            }
            print(
                "smallest shard: "
                    + (smallest.map { "\($0) devices" } ?? "none up to 256 devices")
                    + " at dropout \(dropoutRate), corrupt \(corruptRate)"
            )
        }
    }
}
