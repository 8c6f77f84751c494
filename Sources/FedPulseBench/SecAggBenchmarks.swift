import Foundation
import SecureAggregation

/// The SecAgg+ expansion factor (issue 10): one in-process round of the pure protocol, timed.
///
/// In process on purpose: the protocol's bytes, not the transport's. Seconds per round over real
/// processes with and without SecAgg need the runtime integration, which is not built yet.
func secAggBenchmark(devices: [Int], parameters: Int) throws -> String {
    var lines = [
        "| devices | parameters | bits/value | b | degree | threshold | survivors | upload/device | ÷ plain 16-bit | ÷ f32 update | as encoded secagg.* messages ÷ f32 | round (in process) | exact sum |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    var targets: [String] = []
    var generator = SystemRandomNumberGenerator()
    for count in devices {
        let clock = ContinuousClock()
        let started = clock.now
        let report = try SecAggBenchmark.run(devices: count, parameters: parameters, using: &generator)
        let seconds = secondsOf(clock.now - started)
        lines.append(
            "| \(report.devices) | \(report.parameters) | \(report.bitsPerValue) | \(report.modulusBits) | \(report.degree) | "
                + "\(report.threshold) | \(report.survivors) | \(Int(report.meanUploadBytes)) B | "
                + String(format: "%.2f× | %.2f× | %.2f× | ", report.expansion, report.expansionOverFloat, report.wireExpansionOverFloat)
                + formatSeconds(seconds) + " | \(report.exact ? "yes" : "**no**") |"
        )
        if count == 100 && parameters == 100_000 {
            targets.append(
                targetLine(
                    "SecAgg+ upload expansion over the plain 16-bit update at 10⁵ parameters and 100 devices",
                    measured: String(format: "%.2f×", report.expansion), target: "≤ 2×", met: report.expansion <= 2
                )
            )
        }
    }
    lines.append("")
    lines.append(
        "Upload per device counts every stage a survivor paid (keys, shares, masked vector bit-packed at b bits, unmask "
            + "response); 10 % of the devices vanish after sharing keys. The last expansion column is what the "
            + "`secagg.*` Wire headers as built would send (the masked vector as exact-integer f32le)."
    )
    lines.append("")
    return (lines + targets).joined(separator: "\n") + "\n"
}
