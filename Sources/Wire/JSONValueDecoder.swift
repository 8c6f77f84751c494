/// Decodes a `Decodable` straight from the `JSONValue` the strict parser already built, so a
/// header is parsed once instead of twice (Foundation's `JSONDecoder` parses the bytes again).
///
/// It only ever says yes where `JSONDecoder` says yes with the same value: anything it is not
/// sure of throws, and the codec then asks `JSONDecoder`, whose answer (and error wording) is the
/// authoritative one. Not sure means: an integer of magnitude 2⁵³ or more (the parsed
/// `Double` may have rounded it: 2⁵³ + 1 reads as 2⁵³), any `Float` (Foundation rounds the text once, a `Double` first would round
/// twice), a missing key or a type mismatch (for the error message). Integral numbers written
/// as `1.0` or `1e2` decode as integers, as `JSONDecoder` does.
enum JSONValueDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: [], audit: nil))
    }

    /// The decoded value, and whether the decode read every member of every object and array it
    /// opened (by exactly the characters of its key, and no member that is `null`).
    ///
    /// Why: when it did, no key of the document can be unknown to the type, so the codec can skip
    /// the unknown-key check, which re-encodes the value to learn its keys and took about as long
    /// as the parse. When it did not (an optional left out, a `null`, a key that only matches
    /// under Unicode equivalence, a container opened and abandoned), the codec runs that check as
    /// before: this only ever says "complete" where that check finds nothing missing, or where a
    /// key the type reads is one its encoding leaves out (a stricter check than the schema's).
    static func decodeAuditingReads<T: Decodable>(
        _ type: T.Type,
        from value: JSONValue
    ) throws -> (value: T, readEveryMember: Bool) {
        let audit = ReadAudit()
        let decoded = try T(from: ValueDecoder(value: value, codingPath: [], audit: audit))
        return (decoded, audit.everyMemberRead)
    }

    /// Why the fast path stepped aside; never shown to anyone.
    struct Unsure: Error {}

    static func integer<I: FixedWidthInteger>(_ value: JSONValue, as type: I.Type) throws -> I {
        guard case .number(let number) = value, number.magnitude < 0x1p53, let integer = I(exactly: number)
        else { throw Unsure() }
        return integer
    }
}

/// The objects and arrays one decode opened, and which of their members it read.
private final class ReadAudit {
    final class Keyed {
        let memberCount: Int
        var read: Set<String> = []
        init(memberCount: Int) { self.memberCount = memberCount }
    }

    final class Unkeyed {
        let count: Int
        var consumed = 0
        init(count: Int) { self.count = count }
    }

    private var keyed: [Keyed] = []
    private var unkeyed: [Unkeyed] = []

    func open(keyedWith memberCount: Int) -> Keyed {
        let reads = Keyed(memberCount: memberCount)
        keyed.append(reads)
        return reads
    }

    func open(unkeyedWith count: Int) -> Unkeyed {
        let reads = Unkeyed(count: count)
        unkeyed.append(reads)
        return reads
    }

    var everyMemberRead: Bool {
        keyed.allSatisfy { $0.read.count == $0.memberCount } && unkeyed.allSatisfy { $0.consumed == $0.count }
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let audit: ReadAudit?
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw JSONValueDecoder.Unsure() }
        return KeyedDecodingContainer(
            KeyedValueContainer<Key>(
                members: members,
                codingPath: codingPath,
                audit: audit,
                reads: audit?.open(keyedWith: members.count)
            )
        )
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw JSONValueDecoder.Unsure() }
        return UnkeyedValueContainer(
            elements: elements,
            codingPath: codingPath,
            audit: audit,
            reads: audit?.open(unkeyedWith: elements.count)
        )
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath, audit: audit)
    }
}

private struct KeyedValueContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]
    let audit: ReadAudit?
    let reads: ReadAudit.Keyed?

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    /// Only `contains` and `decodeNil` look without reading.
    private func peek(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else { throw JSONValueDecoder.Unsure() }
        return value
    }

    /// The member, counted as read when its stored key has exactly the key's characters (the
    /// dictionary also finds a key that is only canonically equivalent) and it is not `null`.
    private func member(_ key: Key) throws -> JSONValue {
        let name = key.stringValue
        guard let slot = members.index(forKey: name) else { throw JSONValueDecoder.Unsure() }
        let (stored, value) = members[slot]
        if let reads, stored.utf8.elementsEqual(name.utf8), value != .null { reads.read.insert(stored) }
        return value
    }

    private func decoder(for key: Key) throws -> ValueDecoder {
        ValueDecoder(value: try member(key), codingPath: codingPath + [key], audit: audit)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try peek(key) { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try SingleValueContainer(value: try member(key), codingPath: codingPath, audit: audit).decode(type)
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try SingleValueContainer(value: try member(key), codingPath: codingPath, audit: audit).decode(type)
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try SingleValueContainer(value: try member(key), codingPath: codingPath, audit: audit).decode(type)
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try JSONValueDecoder.integer(try member(key), as: type)
    }

    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try JSONValueDecoder.integer(try member(key), as: type)
    }

    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try JSONValueDecoder.integer(try member(key), as: type)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: try decoder(for: key))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { throw JSONValueDecoder.Unsure() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw JSONValueDecoder.Unsure() }
}

private struct UnkeyedValueContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let audit: ReadAudit?
    let reads: ReadAudit.Unkeyed?
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], audit: ReadAudit?, reads: ReadAudit.Unkeyed?) {
        self.elements = elements
        self.codingPath = codingPath
        self.audit = audit
        self.reads = reads
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The next element, counted as read unless it is `null` (which the unknown-key check
    /// judges by how the value re-encodes).
    private mutating func next() throws -> JSONValue {
        guard currentIndex < elements.count else { throw JSONValueDecoder.Unsure() }
        defer { currentIndex += 1 }
        let element = elements[currentIndex]
        if let reads, element != .null { reads.consumed += 1 }
        return element
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < elements.count else { throw JSONValueDecoder.Unsure() }
        guard case .null = elements[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: String.Type) throws -> String {
        try SingleValueContainer(value: try next(), codingPath: codingPath, audit: audit).decode(type)
    }

    mutating func decode(_ type: Int.Type) throws -> Int {
        try JSONValueDecoder.integer(try next(), as: type)
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ValueDecoder(value: try next(), codingPath: codingPath, audit: audit))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try next(), codingPath: codingPath, audit: audit).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try next(), codingPath: codingPath, audit: audit).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { throw JSONValueDecoder.Unsure() }
}

/// One value; every primitive the headers use, and `Unsure` for the rest.
private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let audit: ReadAudit?

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw JSONValueDecoder.Unsure() }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let text) = value else { throw JSONValueDecoder.Unsure() }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard case .number(let number) = value else { throw JSONValueDecoder.Unsure() }
        return number
    }

    func decode(_ type: Float.Type) throws -> Float { throw JSONValueDecoder.Unsure() }
    func decode(_ type: Int.Type) throws -> Int { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: UInt.Type) throws -> UInt { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONValueDecoder.integer(value, as: type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONValueDecoder.integer(value, as: type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ValueDecoder(value: value, codingPath: codingPath, audit: audit))
    }
}
