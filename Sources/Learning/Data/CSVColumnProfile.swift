/// What a CSV file says about its columns: which hold numbers, which labels occur, and each
/// numeric column's mean and standard deviation.
///
/// Only ever computed on a file the caller owns outright, never on a device's export: in the
/// demo that is the simulation's hold-out `test.csv`, which stands in for data the operator
/// holds centrally. A spec built from a device's export reads its header line and nothing else.
public struct CSVColumnProfile: Sendable, Hashable {
    /// Column names in header order.
    public let columns: [String]
    /// Columns holding at least one value that is not a number (an id, a date, a site name), in
    /// header order; a spec built from this profile leaves them out.
    public let nonNumeric: [String]
    /// The distinct values of the label column, in ``ModelSpec/orderedClasses(_:)`` order.
    public let labelValues: [String]
    /// Standardisation constants of every numeric column with at least two distinct values.
    public let scaling: [String: FeatureScaling]
    /// Records (non-blank lines after the header).
    public let rowCount: Int

    /// More distinct labels than this means the column is not a class (a measurement, an id).
    public static let maximumClasses = 1_000

    public init(text: String, fileName: String, labelColumn: String) throws(CSVError) {
        let header = try CSVRows.header(of: text, fileName: fileName)
        guard let labelIndex = header.firstIndex(of: labelColumn) else {
            throw CSVError(
                code: .missingColumn,
                fileName: fileName,
                line: 1,
                detail: "missing label column '\(labelColumn)' (columns: \(header.prefix(40).joined(separator: ", ")))"
            )
        }
        var numeric = [Bool](repeating: true, count: header.count)
        var moments = [(count: Double, mean: Double, m2: Double)](repeating: (0, 0, 0), count: header.count)
        var labels: Set<String> = []
        var rows = 0
        try CSVRows.forEach(text, fileName: fileName) { (line, fields) throws(CSVError) in
            rows += 1
            for (index, cell) in fields.enumerated() where index != labelIndex && numeric[index] {
                if CSVDatasetLoader.isMissing(cell) { continue }
                guard let value = Double(cell) else {
                    numeric[index] = false
                    continue
                }
                // A NaN is a number-typed error the loader reports with its line; skip it here.
                guard value.isFinite else { continue }
                // Welford's update: stable for columns whose mean dwarfs their spread.
                var moment = moments[index]
                moment.count += 1
                let delta = value - moment.mean
                moment.mean += delta / moment.count
                moment.m2 += delta * (value - moment.mean)
                moments[index] = moment
            }
            let label = fields[labelIndex]
            guard !label.isEmpty else { return }
            labels.insert(label)
            guard labels.count <= Self.maximumClasses else {
                throw CSVError(
                    code: .tooManyClasses,
                    fileName: fileName,
                    line: line,
                    column: labelIndex + 1,
                    detail:
                        "label column '\(labelColumn)' has more than \(Self.maximumClasses) distinct values; it does not look like a class"
                )
            }
        }
        columns = header
        nonNumeric = header.indices.filter { $0 != labelIndex && !numeric[$0] }.map { header[$0] }
        labelValues = ModelSpec.orderedClasses(labels)
        var scaling: [String: FeatureScaling] = [:]
        for index in header.indices where index != labelIndex && numeric[index] && moments[index].count >= 2 {
            let deviation = (moments[index].m2 / moments[index].count).squareRoot()
            if deviation > 1e-9 && deviation.isFinite && moments[index].mean.isFinite {
                scaling[header[index]] = .standardize(mean: moments[index].mean, standardDeviation: deviation)
            }
        }
        self.scaling = scaling
        rowCount = rows
    }
}
