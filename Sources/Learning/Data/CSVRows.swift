/// The CSV dialect every FedPulse reader shares: a header line, then one record per line.
///
/// Fields are comma-separated, optionally double-quoted (`""` escapes a quote; a quoted field
/// cannot span lines); `\r\n` line ends and a UTF-8 byte-order mark are accepted; blank lines
/// are skipped; spaces and tabs around a field are trimmed. Every row must have as many fields
/// as the header. The loader, the header reader and the hold-out profile use this one
/// tokenizer, so they cannot disagree on where a field or a line starts.
enum CSVRows {
    /// Calls `row` with each record's 1-based line number and fields; returns the header.
    @discardableResult
    static func forEach(
        _ text: String,
        fileName: String,
        row: (_ line: Int, _ fields: [String]) throws(CSVError) -> Void
    ) throws(CSVError) -> [String] {
        // "\r\n" is one Character in Swift, so split on both spellings of a line end.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated().makeIterator()
        guard let (_, rawHeader) = lines.next() else {
            throw CSVError(code: .emptyFile, fileName: fileName, line: 1, detail: "no header row")
        }
        let header = try parseHeader(rawHeader, fileName: fileName)
        for (offset, rawLine) in lines {
            let lineNumber = offset + 1
            let text = trimLine(rawLine)
            if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = try fields(of: text, fileName: fileName, line: lineNumber).map(\.trimmingSpaces)
            guard fields.count == header.count else {
                throw CSVError(
                    code: .malformedRow,
                    fileName: fileName,
                    line: lineNumber,
                    detail: "expected \(header.count) fields as in the header, found \(fields.count)"
                )
            }
            try row(lineNumber, fields)
        }
        return header
    }

    /// The column names of the first line of `text`; nothing after it is looked at.
    static func header(of text: String, fileName: String) throws(CSVError) -> [String] {
        let firstLine = text.prefix(while: { $0 != "\n" && $0 != "\r\n" })
        return try parseHeader(firstLine, fileName: fileName)
    }

    private static func parseHeader(_ rawHeader: Substring, fileName: String) throws(CSVError) -> [String] {
        var headerText = trimLine(rawHeader)
        if headerText.hasPrefix("\u{FEFF}") { headerText.removeFirst() }
        guard !headerText.allSatisfy({ $0 == " " || $0 == "\t" }) else {
            throw CSVError(code: .emptyFile, fileName: fileName, line: 1, detail: "no header row")
        }
        return try fields(of: headerText, fileName: fileName, line: 1).map(\.trimmingSpaces)
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
