/// Loads a real wearable export (CSV) into a dataset shaped by a model spec.
///
/// The file is read by the caller (this module does no I/O); here we only parse. Format:
///
/// - line 1 is a header naming columns; the spec decides which are used (by name, in any
///   order) and a column named `label` is required; other columns are ignored;
/// - fields are comma-separated, optionally double-quoted (`""` escapes a quote; a quoted field
///   cannot span lines); `\r\n` line ends and a UTF-8 byte-order mark are accepted; blank lines
///   are skipped;
/// - an empty field or `NA` means "not measured": allowed only for features with
///   `mayBeMissing`, which then get availability flag 0;
/// - `label` holds a class name from the spec (`poor`) or a class index (`0`, `1`, …);
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
        try parse(text, fileName: fileName, spec: spec) { raw, label in dataset.append(encoded: encoder, raw: raw, label: label) }
        return dataset
    }

    /// Parses CSV text into unscaled records (spec feature order), for statistics that must be
    /// computed on raw values, such as the federated feature means and variances.
    public static func loadRecords(_ text: String, fileName: String, spec: ModelSpec) throws(CSVError) -> RawRecords {
        var records = RawRecords()
        try parse(text, fileName: fileName, spec: spec) { raw, label in records.append(raw, label: label) }
        return records
    }

    private static func parse(
        _ text: String, fileName: String, spec: ModelSpec, row accept: ([Double?], Int) -> Void
    ) throws(CSVError) {
        // "\r\n" is one Character in Swift, so split on both spellings of a line end.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated().makeIterator()
        guard let (_, rawHeader) = lines.next(), !trimLine(rawHeader).isEmpty else {
            throw CSVError(code: .emptyFile, fileName: fileName, line: 1, detail: "no header row")
        }
        var headerText = trimLine(rawHeader)
        if headerText.hasPrefix("\u{FEFF}") { headerText.removeFirst() }
        let header = try fields(of: headerText, fileName: fileName, line: 1).map { $0.trimmingSpaces }
        let columns = try locate(spec: spec, in: header, fileName: fileName)

        var accepted = 0
        var raw = [Double?](repeating: nil, count: spec.features.count)
        for (offset, rawLine) in lines {
            let lineNumber = offset + 1
            let text = trimLine(rawLine)
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let row = try fields(of: text, fileName: fileName, line: lineNumber)
            guard row.count == header.count else {
                throw CSVError(
                    code: .malformedRow,
                    fileName: fileName,
                    line: lineNumber,
                    detail: "expected \(header.count) fields as in the header, found \(row.count)"
                )
            }
            for (index, feature) in spec.features.enumerated() {
                raw[index] = try value(
                    row[columns.features[index]].trimmingSpaces,
                    feature: feature,
                    fileName: fileName,
                    line: lineNumber,
                    column: columns.features[index] + 1
                )
            }
            let label = try label(
                row[columns.label].trimmingSpaces,
                spec: spec,
                fileName: fileName,
                line: lineNumber,
                column: columns.label + 1
            )
            if raw.allSatisfy({ $0 == nil }) { continue }
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
                    detail: name == "label"
                        ? "missing column 'label'" : "missing column '\(name)' required by the model spec"
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
        return (features, try index(of: "label"))
    }

    private static func value(
        _ text: String,
        feature: ModelSpec.Feature,
        fileName: String,
        line: Int,
        column: Int
    ) throws(CSVError) -> Double? {
        if text.isEmpty || text == "NA" {
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
                detail: "non-numeric value \"\(text)\" in column '\(feature.name)'"
            )
        }
        guard number.isFinite else {
            throw CSVError(
                code: .nonFinite,
                fileName: fileName,
                line: line,
                column: column,
                detail: "non-finite value \"\(text)\" in column '\(feature.name)'"
            )
        }
        return number
    }

    private static func label(
        _ text: String,
        spec: ModelSpec,
        fileName: String,
        line: Int,
        column: Int
    ) throws(CSVError) -> Int {
        if let index = spec.labels.firstIndex(of: text) { return index }
        if let index = Int(text), (0..<spec.classCount).contains(index) { return index }
        throw CSVError(
            code: .unknownLabel,
            fileName: fileName,
            line: line,
            column: column,
            detail:
                "unknown label \"\(text)\"; expected one of \(spec.labels.joined(separator: ", ")) or 0...\(spec.classCount - 1)"
        )
    }

    /// Splits one line into fields, honouring double quotes.
    private static func fields(of line: Substring, fileName: String, line number: Int) throws(CSVError) -> [String] {
        var result: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        var previousWasQuote = false
        while let character = iterator.next() {
            if quoted {
                if character == "\"" {
                    quoted = false
                    previousWasQuote = true
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case "\"":
                // `""` inside a quoted field is a literal quote.
                if previousWasQuote { current.append("\"") }
                quoted = true
            case ",":
                result.append(current)
                current = ""
            default:
                current.append(character)
            }
            previousWasQuote = false
        }
        guard !quoted else {
            throw CSVError(
                code: .malformedRow,
                fileName: fileName,
                line: number,
                column: result.count + 1,
                detail: "unterminated quoted field"
            )
        }
        result.append(current)
        return result
    }

    private static func trimLine(_ line: Substring) -> Substring {
        line.last == "\r" ? line.dropLast() : line
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
