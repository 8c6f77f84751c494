/// Builds `malformedHeader` errors that name the JSON path of the broken field.
///
/// Each body's `validate()` mirrors its schema with these checks; the schema-conformance tests
/// feed the same broken documents to both, so the two cannot drift apart silently.
struct FieldCheck {
    /// The JSON path of the object being checked, e.g. `body.training`.
    let path: String

    init(path: String = "body") {
        self.path = path
    }

    /// The checker for a nested object.
    func nested(_ key: String) -> FieldCheck { FieldCheck(path: fullPath(key)) }

    func fullPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func require(_ condition: Bool, _ key: String, _ message: @autoclosure () -> String) throws(WireError) {
        guard condition else { throw .malformed("\(fullPath(key)): \(message())") }
    }

    /// Ids (workers, aggregators, senders): 1…128 characters of `A-Z a-z 0-9 . _ : @ / + -`.
    ///
    /// A closed character set, not just a length: ids end up in log lines, metric labels and
    /// file names, and a newline or a quote in one would let a sender forge a log entry.
    func id(_ key: String, _ value: String) throws(WireError) {
        try text(key, value, maxLength: 128)
        try require(value.utf8.allSatisfy(Self.isIdByte), key, "contains a character outside A-Z a-z 0-9 . _ : @ / + -")
    }

    static func isIdByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true  // 0-9 A-Z a-z
        case 0x2E, 0x5F, 0x3A, 0x40, 0x2F, 0x2B, 0x2D: true  // . _ : @ / + -
        default: false
        }
    }

    /// A non-empty string of at most `maxLength` Unicode scalars (JSON Schema counts code points).
    func text(_ key: String, _ value: String, maxLength: Int) throws(WireError) {
        let length = value.unicodeScalars.count
        try require(length >= 1 && length <= maxLength, key, "length \(length) is outside 1...\(maxLength)")
    }

    func ids(_ key: String, _ values: [String]) throws(WireError) {
        for (index, value) in values.enumerated() { try id("\(key)[\(index)]", value) }
        try require(Set(values).count == values.count, key, "contains duplicates")
    }

    func atLeast<T: BinaryInteger>(_ key: String, _ value: T, _ minimum: T) throws(WireError) {
        try require(value >= minimum, key, "\(value) is below \(minimum)")
    }

    func range<T: BinaryInteger>(_ key: String, _ value: T, _ bounds: ClosedRange<T>) throws(WireError) {
        try require(bounds.contains(value), key, "\(value) is outside \(bounds)")
    }

    func finite(_ key: String, _ value: Double) throws(WireError) {
        try require(value.isFinite, key, "\(value) is not finite")
    }

    func nonNegative(_ key: String, _ value: Double) throws(WireError) {
        try require(value.isFinite && value >= 0, key, "\(value) is not a finite number ≥ 0")
    }

    func positive(_ key: String, _ value: Double) throws(WireError) {
        try require(value.isFinite && value > 0, key, "\(value) is not a finite number > 0")
    }

    /// A ZeroMQ endpoint: `scheme://address`, printable ASCII, at most 256 bytes.
    func endpoint(_ key: String, _ value: String) throws(WireError) {
        let utf8 = Array(value.utf8)
        let separator = Array("://".utf8)
        var schemeEnd: Int?
        if utf8.count >= separator.count {
            for start in 0...(utf8.count - separator.count) where Array(utf8[start..<start + 3]) == separator {
                schemeEnd = start
                break
            }
        }
        guard utf8.count <= 256, let end = schemeEnd, end >= 1, end + 3 < utf8.count else {
            throw .malformed("\(fullPath(key)): \"\(value)\" is not a scheme://address endpoint")
        }
        let isLower = { (byte: UInt8) in byte >= 0x61 && byte <= 0x7A }
        let schemeOK =
            isLower(utf8[0])
            && utf8[1..<end].allSatisfy {
                isLower($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2B || $0 == 0x2E || $0 == 0x2D
            }
        let addressOK = utf8[(end + 3)...].allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
        try require(schemeOK && addressOK, key, "\"\(value)\" is not a scheme://address endpoint")
    }

    /// Lowercase hex SHA-256, 64 characters.
    func digest(_ key: String, _ value: String) throws(WireError) {
        try require(Self.isDigest(value), key, "is not 64 lowercase hex digits")
    }

    static func isDigest(_ value: String) -> Bool {
        let utf8 = value.utf8
        return utf8.count == 64 && utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// An opaque JSON object (`modelSpec`, `detail`).
    func object(_ key: String, _ value: JSONValue) throws(WireError) {
        guard case .object = value else { throw .malformed("\(fullPath(key)): is not a JSON object") }
        try require(value.isFinite, key, "contains a non-finite number")
    }

    /// Counts keyed by `RejectReason` raw value (`rejected`): only known reasons, counts ≥ 0.
    func rejectCounts(_ key: String, _ value: [String: Int]) throws(WireError) {
        for (name, count) in value.sorted(by: { $0.key < $1.key }) {
            try require(RejectReason(rawValue: name) != nil, key, "\(WireCodec.printable(name)) is not a reject reason")
            try require(count >= 0, "\(key).\(name)", "\(count) is below 0")
        }
    }
}
