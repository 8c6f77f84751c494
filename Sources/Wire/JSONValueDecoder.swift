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
        try T(from: ValueDecoder(value: value, codingPath: []))
    }

    /// Why the fast path stepped aside; never shown to anyone.
    struct Unsure: Error {}

    static func integer<I: FixedWidthInteger>(_ value: JSONValue, as type: I.Type) throws -> I {
        guard case .number(let number) = value, number.magnitude < 0x1p53, let integer = I(exactly: number)
        else { throw Unsure() }
        return integer
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw JSONValueDecoder.Unsure() }
        return KeyedDecodingContainer(KeyedValueContainer<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw JSONValueDecoder.Unsure() }
        return UnkeyedValueContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }
}

private struct KeyedValueContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else { throw JSONValueDecoder.Unsure() }
        return value
    }

    private func decoder(for key: Key) throws -> ValueDecoder {
        ValueDecoder(value: try member(key), codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try SingleValueContainer(value: try member(key), codingPath: codingPath).decode(type)
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try SingleValueContainer(value: try member(key), codingPath: codingPath).decode(type)
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try SingleValueContainer(value: try member(key), codingPath: codingPath).decode(type)
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
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> JSONValue {
        guard currentIndex < elements.count else { throw JSONValueDecoder.Unsure() }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < elements.count else { throw JSONValueDecoder.Unsure() }
        guard case .null = elements[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: String.Type) throws -> String {
        try SingleValueContainer(value: try next(), codingPath: codingPath).decode(type)
    }

    mutating func decode(_ type: Int.Type) throws -> Int {
        try JSONValueDecoder.integer(try next(), as: type)
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: ValueDecoder(value: try next(), codingPath: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try next(), codingPath: codingPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try next(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { throw JSONValueDecoder.Unsure() }
}

/// One value; every primitive the headers use, and `Unsure` for the rest.
private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

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
        try T(from: ValueDecoder(value: value, codingPath: codingPath))
    }
}
