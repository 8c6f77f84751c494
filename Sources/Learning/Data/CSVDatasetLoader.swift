/// Loads a real export (CSV) into a dataset shaped by a model spec.
///
/// The file is read by the caller (this module does no I/O); here we only parse. Format (the
/// dialect is ``CSVRows``'s):
///
/// - line 1 is a header naming columns; the spec decides which are used (by name, in any
///   order) and its label column (``ModelSpec/labelColumn``, `label` unless the spec names
///   another) is required; other columns are ignored;
/// - an empty field or `NA` means "not measured": allowed only for features with
///   `mayBeMissing`, which then get availability flag 0;
/// - the label holds a class name from the spec (`poor`) or a class index (`0`, `1`, …); when
///   some class names are themselves integers (`1`, `2`), only names count, so `0` cannot be
///   read as "the first class";
/// - a row with no feature value at all carries no information and is skipped; a file
///   without any other row is an error.
public enum CSVDatasetLoader {
    /// Parses CSV bytes (UTF-8).
    public static func load(
        bytes: some Collection<UInt8>,
        fileName: String,
        spec: ModelSpec
    ) throws(CSVError) -> Dataset {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CSVError(code: .invalidEncoding, fileName: fileName, detail: "file is not valid UTF-8")
        }
        return try load(text, fileName: fileName, spec: spec)
    }

    /// Parses CSV text.
    public static func load(_ text: String, fileName: String, spec: ModelSpec) throws(CSVError) -> Dataset {
        var dataset = Dataset(spec: spec)
        let encoder = FeatureEncoder(spec: spec)
        try parse(text, fileName: fileName, spec: spec) { raw, label in
            dataset.append(encoded: encoder, raw: raw, label: label)
        }
        return dataset
    }

    /// Parses CSV text into unscaled records (spec feature order), for statistics that must be
    /// computed on raw values, such as the federated feature means and variances.
    public static func loadRecords(_ text: String, fileName: String, spec: ModelSpec) throws(CSVError) -> RawRecords {
        var records = RawRecords()
        try parse(text, fileName: fileName, spec: spec) { raw, label in records.append(raw, label: label) }
        return records
    }

    /// The column names of a CSV header line; only the first line of `text` is read, which is
    /// all a spec built from a device's export may look at.
    public static func header(of text: String, fileName: String) throws(CSVError) -> [String] {
        try CSVRows.header(of: text, fileName: fileName)
    }

    private static func parse(
        _ text: String,
        fileName: String,
        spec: ModelSpec,
        row accept: ([Double?], Int) -> Void
    ) throws(CSVError) {
        let header = try CSVRows.header(of: text, fileName: fileName)
        let columns = try locate(spec: spec, in: header, fileName: fileName)
        let labels = LabelReader(spec: spec)
        var accepted = 0
        var raw = [Double?](repeating: nil, count: spec.features.count)
        try CSVRows.forEach(text, fileName: fileName) { (lineNumber, row) throws(CSVError) in
            for (index, feature) in spec.features.enumerated() {
                raw[index] = try value(
                    row[columns.features[index]],
                    feature: feature,
                    fileName: fileName,
                    line: lineNumber,
                    column: columns.features[index] + 1
                )
            }
            let label = try labels.read(
                row[columns.label],
                fileName: fileName,
                line: lineNumber,
                column: columns.label + 1
            )
            if raw.allSatisfy({ $0 == nil }) { return }
            accept(raw, label)
            accepted += 1
        }
        guard accepted > 0 else {
            throw CSVError(code: .noUsableRows, fileName: fileName, detail: "no row has any of the model's features")
        }
    }

    private static func locate(
        spec: ModelSpec,
        in header: [String],
        fileName: String
    ) throws(CSVError) -> (features: [Int], label: Int) {
        func index(of name: String) throws(CSVError) -> Int {
            let matches = header.indices.filter { header[$0] == name }
            guard let first = matches.first else {
                throw CSVError(
                    code: .missingColumn,
                    fileName: fileName,
                    line: 1,
                    detail: (name == spec.labelColumn
                        ? "missing label column '\(name)'" : "missing column '\(name)' required by the model spec")
                        + " (the header has \(CSVError.listed(header)))"
                )
            }
            guard matches.count == 1 else {
                throw CSVError(
                    code: .duplicateColumn,
                    fileName: fileName,
                    line: 1,
                    column: matches[1] + 1,
                    detail: "column '\(name)' appears more than once"
                )
            }
            return first
        }
        var features: [Int] = []
        for feature in spec.features { features.append(try index(of: feature.name)) }
        return (features, try index(of: spec.labelColumn))
    }

    private static func value(
        _ text: String,
        feature: ModelSpec.Feature,
        fileName: String,
        line: Int,
        column: Int
    ) throws(CSVError) -> Double? {
        if CSVDatasetLoader.isMissing(text) {
            guard feature.mayBeMissing else {
                throw CSVError(
                    code: .missingValue,
                    fileName: fileName,
                    line: line,
                    column: column,
                    detail: "missing value in column '\(feature.name)', which the model spec requires"
                )
            }
            return nil
        }
        guard let number = Double(text) else {
            throw CSVError(
                code: .nonNumeric,
                fileName: fileName,
                line: line,
                column: column,
                detail: "non-numeric value \(CSVError.quoted(text)) in column '\(feature.name)'"
            )
        }
        guard number.isFinite else {
            throw CSVError(
                code: .nonFinite,
                fileName: fileName,
                line: line,
                column: column,
                detail: "non-finite value \(CSVError.quoted(text)) in column '\(feature.name)'"
            )
        }
        return number
    }

    /// An empty field or `NA`: "not measured".
    static func isMissing(_ text: String) -> Bool { text.isEmpty || text == "NA" }
}

/// Reads a label cell as a class name or, when no class name is an integer, a class index.
struct LabelReader {
    let spec: ModelSpec
    let acceptsIndices: Bool

    init(spec: ModelSpec) {
        self.spec = spec
        acceptsIndices = !spec.labels.contains { Int($0) != nil }
    }

    func read(_ text: String, fileName: String, line: Int, column: Int) throws(CSVError) -> Int {
        if let index = spec.labels.firstIndex(of: text) { return index }
        if acceptsIndices, let index = Int(text), (0..<spec.classCount).contains(index) { return index }
        let expected = spec.labels.prefix(20).joined(separator: ", ") + (spec.classCount > 20 ? ", …" : "")
        throw CSVError(
            code: .unknownLabel,
            fileName: fileName,
            line: line,
            column: column,
            detail:
                "unknown label \(CSVError.quoted(text)) in column '\(spec.labelColumn)'; expected one of \(expected)"
                + (acceptsIndices ? " or 0...\(spec.classCount - 1)" : "")
        )
    }
}
