import Foundation
import Wire

/// The demo's report folder: a per-round metrics CSV, the summary JSON and an HTML page whose
/// accuracy and loss curves are inline SVG (no scripts, no network: it opens anywhere).
struct DemoReport {
    let outcome: DemoOutcome
    let config: DemoConfig

    func write() throws {
        let directory = config.reportDirectory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(csv().utf8).write(to: directory.appendingPathComponent("metrics.csv"), options: .atomic)
        let summary = try summaryJSON()
        try summary.write(to: directory.appendingPathComponent("summary.json"), options: .atomic)
        if let path = config.summaryJSON { try summary.write(to: path, options: .atomic) }
        try Data(html().utf8).write(to: directory.appendingPathComponent("index.html"), options: .atomic)
    }

    func csv() -> String {
        var lines = [
            "round,round_id,model_version,participants_watch,participants_phone,participants_tablet,contributors,accuracy,loss,federated_accuracy,seconds,bytes_up,bytes_down,epsilon,secure_aggregation"
        ]
        for record in outcome.rounds {
            let fields: [String] = [
                "\(record.round)", "\(record.roundId)", "\(record.modelVersion)",
                "\(record.participants.counts["watch"] ?? 0)", "\(record.participants.counts["phone"] ?? 0)",
                "\(record.participants.counts["tablet"] ?? 0)",
                "\(record.contributors)", record.accuracy.map { "\($0)" } ?? "", record.loss.map { "\($0)" } ?? "",
                record.federatedAccuracy.map { "\($0)" } ?? "", "\(record.seconds)", "\(record.bytesUp)",
                "\(record.bytesDown)",
                record.epsilon.map { "\($0)" } ?? "",
                "\"\(SecureAggregationRecord.summary(record.secureAggregation))\"",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `{"rounds":[{"round","participants","accuracy","loss","seconds","bytesUp","bytesDown"}],"finalAccuracy","centralizedAccuracy","processes"}`.
    func summaryJSON() throws -> Data {
        struct Row: Encodable {
            var round: Int
            var participants: Int
            var participantsByClass: [String: Int]
            var accuracy: Double?
            var loss: Double?
            var federatedAccuracy: Double?
            var seconds: Double
            var bytesUp: Int
            var bytesDown: Int
            var epsilon: Double?
        }
        struct Summary: Encodable {
            var rounds: [Row]
            var finalAccuracy: Double?
            var centralizedAccuracy: Double?
            var processes: Int
            var peakMemoryBytes: [String: Int]
            var totalPeakMemoryBytes: Int
            var endReason: String
            var reportDirectory: String
            var privacy: PrivacySpent?
            var nonPrivateFinalAccuracy: Double?
            var scaling: String?
            var dataSource: DataSourceSummary?
            var failure: ChildFailure?
            var bytesUpToF32: Double?
        }
        let summary = Summary(
            rounds: outcome.rounds.map {
                Row(
                    round: $0.round,
                    participants: $0.contributors,
                    participantsByClass: $0.participants.counts,
                    accuracy: $0.accuracy,
                    loss: $0.loss,
                    federatedAccuracy: $0.federatedAccuracy,
                    seconds: $0.seconds,
                    bytesUp: $0.bytesUp,
                    bytesDown: $0.bytesDown,
                    epsilon: $0.epsilon
                )
            },
            finalAccuracy: outcome.finalAccuracy,
            centralizedAccuracy: outcome.centralizedAccuracy,
            processes: outcome.processes,
            peakMemoryBytes: outcome.peakMemoryBytes,
            totalPeakMemoryBytes: outcome.totalPeakMemoryBytes,
            endReason: outcome.endReason,
            reportDirectory: outcome.reportDirectory,
            privacy: outcome.privacy,
            nonPrivateFinalAccuracy: outcome.nonPrivateFinalAccuracy,
            scaling: outcome.scaling,
            dataSource: outcome.dataSource,
            failure: outcome.failure,
            bytesUpToF32: outcome.bytesUpToF32
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(summary)
    }

    func html() -> String {
        let accuracy = outcome.rounds.compactMap { record in record.accuracy.map { (Double(record.round), $0) } }
        let loss = outcome.rounds.compactMap { record in record.loss.map { (Double(record.round), $0) } }
        let epsilon = outcome.rounds.compactMap { record in record.epsilon.map { (Double(record.round), $0) } }
        var rows = ""
        for record in outcome.rounds {
            rows += "<tr><td>\(record.round)</td><td>\(record.contributors)</td><td>\(format(record.accuracy))</td>"
            rows += "<td>\(format(record.loss))</td><td>\(String(format: "%.3f", record.seconds))</td>"
            rows += "<td>\(record.bytesUp)</td><td>\(record.bytesDown)</td><td>\(format(record.epsilon))</td>"
            rows += "<td>\(SecureAggregationRecord.summary(record.secureAggregation))</td></tr>\n"
        }
        let baseline = outcome.centralizedAccuracy.map { String(format: "%.4f", $0) } ?? "n/a"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>FedPulse demo report</title>
            <style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:960px}table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}svg{background:#fafafa;border:1px solid #ddd}</style>
            </head><body>
            <h1>FedPulse demo</h1>
            <p>\(outcome.rounds.count) rounds over \(outcome.processes) processes; run ended: \(outcome.endReason).
            Final accuracy \(format(outcome.finalAccuracy)); centralised baseline \(baseline).</p>
            \(dataParagraph())
            <h2>Accuracy on the central hold-out</h2>
            \(SVGChart(points: accuracy, reference: outcome.centralizedAccuracy, label: "accuracy").render())
            <h2>Log loss</h2>
            \(SVGChart(points: loss, reference: nil, label: "loss").render())
            \(epsilon.isEmpty ? "" : "<h2>Privacy spent (ε)</h2>\n" + SVGChart(points: epsilon, reference: nil, label: "epsilon").render())
            <h2>Rounds</h2>
            <table><tr><th>round</th><th>participants</th><th>accuracy</th><th>loss</th><th>seconds</th><th>bytes up</th><th>bytes down</th><th>ε</th><th>aggregation</th></tr>
            \(rows)</table>
            <p>Logs of every process are in <code>logs/</code>; per-round numbers in <code>metrics.csv</code>.</p>
            </body></html>
            """
    }

    private func format(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }

    /// The data source, scaling and any failure, escaped: column names come from user files.
    private func dataParagraph() -> String {
        var lines = (outcome.dataSource?.lines ?? []) + ["scaling: " + (outcome.scaling ?? "unknown")]
        if outcome.dataSource != nil {
            lines.append("The centralised baseline trains on the union of the device files, for comparison only.")
        }
        if let failure = outcome.failure { lines.append("FAILED: \(failure)") }
        return "<h2>Data</h2>\n<pre>" + lines.map(Self.escape).joined(separator: "\n") + "</pre>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// A line chart as inline SVG: rounds on x, the metric on y, an optional dashed reference line.
struct SVGChart {
    var points: [(Double, Double)]
    var reference: Double?
    var referenceLabel = "centralised"
    var label: String
    var width = 640.0
    var height = 240.0
    let margin = 40.0

    func render() -> String {
        guard let first = points.first else { return "<p>no data</p>" }
        let xs = points.map(\.0)
        let ys = points.map(\.1) + (reference.map { [$0] } ?? [])
        let minX = xs.min() ?? first.0
        let maxX = max(xs.max() ?? first.0, minX + 1)
        var minY = ys.min() ?? 0
        var maxY = ys.max() ?? 1
        if maxY - minY < 1e-9 {
            minY -= 0.5
            maxY += 0.5
        }
        func x(_ value: Double) -> Double { margin + (value - minX) / (maxX - minX) * (width - 2 * margin) }
        func y(_ value: Double) -> Double { height - margin - (value - minY) / (maxY - minY) * (height - 2 * margin) }
        let path = points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(label) per round\">"
        svg +=
            "<line x1=\"\(margin)\" y1=\"\(height - margin)\" x2=\"\(width - margin)\" y2=\"\(height - margin)\" stroke=\"#888\"/>"
        svg += "<line x1=\"\(margin)\" y1=\"\(margin)\" x2=\"\(margin)\" y2=\"\(height - margin)\" stroke=\"#888\"/>"
        svg += String(format: "<text x=\"4\" y=\"%.1f\" font-size=\"11\">%.3f</text>", y(maxY) + 4, maxY)
        svg += String(format: "<text x=\"4\" y=\"%.1f\" font-size=\"11\">%.3f</text>", y(minY), minY)
        svg += "<text x=\"\(width / 2)\" y=\"\(height - 8)\" font-size=\"11\">round</text>"
        if let reference {
            svg += String(
                format:
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c33\" stroke-dasharray=\"5,4\"/>",
                margin,
                y(reference),
                width - margin,
                y(reference)
            )
            svg += String(
                format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#c33\">",
                width - margin - 70,
                y(reference) - 4
            )
            svg += referenceLabel + "</text>"
        }
        svg += "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" points=\"\(path)\"/>"
        for point in points {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f6feb\"/>", x(point.0), y(point.1))
        }
        return svg + "</svg>"
    }
}
