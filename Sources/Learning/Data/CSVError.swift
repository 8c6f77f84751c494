/// Why a CSV export could not be loaded, pointing at the file, line and column.
///
/// Real exports are edited by hand and produced by many apps; an error that says
/// `sleep.csv:12:4: non-numeric value "n/a" in column 'steps'` lets a user fix the file
/// without reading code.
public struct CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem; the raw value is stable for metrics and tests.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The text is not UTF-8.
        public static let invalidEncoding = Code(rawValue: "invalid_encoding")
        /// There is no header row.
        public static let emptyFile = Code(rawValue: "empty_file")
        /// A column the spec needs (a feature or the label column) is not in the header.
        public static let missingColumn = Code(rawValue: "missing_column")
        /// A needed column appears twice in the header.
        public static let duplicateColumn = Code(rawValue: "duplicate_column")
        /// A row has a different number of fields from the header, or an unterminated quote.
        public static let malformedRow = Code(rawValue: "malformed_row")
        /// A value is not a number.
        public static let nonNumeric = Code(rawValue: "non_numeric")
        /// A value is NaN or infinite.
        public static let nonFinite = Code(rawValue: "non_finite")
        /// A feature the spec requires is empty.
        public static let missingValue = Code(rawValue: "missing_value")
        /// A label is neither a class name nor a class index.
        public static let unknownLabel = Code(rawValue: "unknown_label")
        /// A label column holds so many distinct values that it cannot be a class.
        public static let tooManyClasses = Code(rawValue: "too_many_classes")
        /// No row carries any feature value.
        public static let noUsableRows = Code(rawValue: "no_usable_rows")
    }

    /// What went wrong.
    public var code: Code
    /// The file name the caller gave (for messages only; nothing is read from disk here).
    public var fileName: String
    /// 1-based line, when the problem has one.
    public var line: Int?
    /// 1-based column (field position in the row), when the problem has one.
    public var column: Int?
    /// A human-readable explanation.
    public var detail: String

    public init(code: Code, fileName: String, line: Int? = nil, column: Int? = nil, detail: String) {
        self.code = code
        self.fileName = fileName
        self.line = line
        self.column = column
        self.detail = detail
    }

    /// A cell's text for a message: quoted, cut at 40 characters, control characters escaped,
    /// so a hostile export cannot forge log lines or flood them.
    static func quoted(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars.prefix(40) {
            result +=
                scalar.value < 0x20 || scalar.value == 0x7F ? "\\u{\(String(scalar.value, radix: 16))}" : String(scalar)
        }
        return "\"\(result)\(text.unicodeScalars.count > 40 ? "…" : "")\""
    }

    /// Up to a dozen column names for a message (a wrong export is usually obvious from them).
    static func listed(_ names: [String]) -> String {
        let shown = names.prefix(12).map { quoted($0) }.joined(separator: ", ")
        return names.isEmpty ? "no columns" : shown + (names.count > 12 ? ", … (\(names.count) columns)" : "")
    }

    /// `file:line:column: detail`, the format compilers use, so editors can jump to it.
    public var description: String {
        var location = fileName
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return "\(location): \(detail)"
    }
}
