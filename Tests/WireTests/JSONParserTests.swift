import Testing

@testable import Wire

/// The header parser's string paths and the shape the unknown-key check compares against.
struct JSONParserTests {
    @Test func escapesAndMultiByteTextDecodeToTheirCharacters() throws {
        let header = #"{"k":"a\u00e9€\n\"\ud83d\ude00z\\","plain":"0123abcdef","":""}"#
        let value = try JSONParser.parse(Array(header.utf8))
        #expect(value["k"] == .string("aé€\n\"😀z\\"))
        #expect(value["plain"] == .string("0123abcdef"))
        #expect(value[""] == .string(""))
    }

    @Test func invalidUTF8AfterAnEscapeIsRefused() {
        let bytes = Array(#"{"k":"ok\n"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: WireError.self) { try JSONParser.parse(bytes) }
    }

    struct Inner: Codable {
        var list: [Int]
        var note: String?
    }

    struct Outer: Codable {
        var name: String
        var inner: Inner
        var items: [Inner]
        var missing: Double?
    }

    @Test func shapeHasTheKeysJSONEncoderWritesAndNoAbsentOptionals() throws {
        let value = Outer(
            name: "x",
            inner: Inner(list: [1, 2], note: "n"),
            items: [Inner(list: [], note: nil)],
            missing: nil
        )
        let shape = try ShapeEncoder.shape(of: value)
        let encoded = try JSONValue(encoding: value)
        #expect(shape.firstKeyMissing(from: encoded, path: "") == nil)
        #expect(encoded.firstKeyMissing(from: shape, path: "") == nil)
        #expect(shape["missing"] == nil)
        #expect(shape["items"] == .array([.object(["list": .array([])])]))
        #expect(shape["inner"]?["list"] == .array([.null, .null]))
    }
}
