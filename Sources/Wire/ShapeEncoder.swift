/// Records the shape a value encodes to — object keys and array lengths — without writing JSON.
///
/// The codec's unknown-key check compares a received header with what its decoded value would
/// encode to. Serialising that value with `JSONEncoder` and parsing the bytes back cost more than
/// decoding the header itself (sorted keys, string escaping, a second parse of every hex string
/// of a `secagg.shares`); the check only needs the keys, so this encoder builds the tree of keys
/// directly. Leaves are `.null`: `JSONValue.firstKeyMissing` never looks at them.
enum ShapeEncoder {
    /// The key tree of `value` as `JSONEncoder` would write it (absent optionals omitted).
    static func shape(of value: some Encodable) throws -> JSONValue {
        let root = ShapeNode()
        try value.encode(to: ShapeNodeEncoder(node: root, codingPath: []))
        return root.tree
    }
}

/// One node of the tree being recorded; a class so that containers handed out by `Encoder`
/// (which are values) can fill it in place.
private final class ShapeNode {
    var members: [String: ShapeNode]?
    var elements: [ShapeNode]?

    var tree: JSONValue {
        if let members { return .object(members.mapValues(\.tree)) }
        if let elements { return .array(elements.map(\.tree)) }
        return .null
    }

    func member(_ key: String) -> ShapeNode {
        let child = ShapeNode()
        if members == nil { members = [:] }
        members?[key] = child
        return child
    }

    func appendElement() -> ShapeNode {
        let child = ShapeNode()
        if elements == nil { elements = [] }
        elements?.append(child)
        return child
    }
}

private struct ShapeNodeEncoder: Encoder {
    let node: ShapeNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil { node.members = [:] }
        return KeyedEncodingContainer(KeyedShapeContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.elements == nil { node.elements = [] }
        return UnkeyedShapeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleShapeContainer(node: node, codingPath: codingPath)
    }
}

private struct KeyedShapeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: ShapeNode
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { _ = node.member(key.stringValue) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try value.encode(to: ShapeNodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        ShapeNodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
            .container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        ShapeNodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        ShapeNodeEncoder(node: node.member("super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        ShapeNodeEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedShapeContainer: UnkeyedEncodingContainer {
    let node: ShapeNode
    let codingPath: [any CodingKey]
    var count: Int { node.elements?.count ?? 0 }

    mutating func encodeNil() throws { _ = node.appendElement() }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: ShapeNodeEncoder(node: node.appendElement(), codingPath: codingPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        ShapeNodeEncoder(node: node.appendElement(), codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        ShapeNodeEncoder(node: node.appendElement(), codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        ShapeNodeEncoder(node: node.appendElement(), codingPath: codingPath)
    }
}

/// A leaf: primitives record nothing, and a nested `Encodable` fills the same node.
private struct SingleShapeContainer: SingleValueEncodingContainer {
    let node: ShapeNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws {}
    mutating func encode(_ value: Bool) throws {}
    mutating func encode(_ value: String) throws {}
    mutating func encode(_ value: Double) throws {}
    mutating func encode(_ value: Float) throws {}
    mutating func encode(_ value: Int) throws {}
    mutating func encode(_ value: Int8) throws {}
    mutating func encode(_ value: Int16) throws {}
    mutating func encode(_ value: Int32) throws {}
    mutating func encode(_ value: Int64) throws {}
    mutating func encode(_ value: UInt) throws {}
    mutating func encode(_ value: UInt8) throws {}
    mutating func encode(_ value: UInt16) throws {}
    mutating func encode(_ value: UInt32) throws {}
    mutating func encode(_ value: UInt64) throws {}

    mutating func encode<T: Encodable>(_ value: T) throws {
        try value.encode(to: ShapeNodeEncoder(node: node, codingPath: codingPath))
    }
}
