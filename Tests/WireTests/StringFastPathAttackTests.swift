import Testing

@testable import Wire

/// The parser's string fast path against the scalar-by-scalar reading it replaced, on strings an
/// attacker builds from escapes, multi-byte UTF-8, broken UTF-8 and control bytes.
struct StringFastPathAttackTests {
    /// The pre-fast-path reading of a string's content bytes (between the quotes): raw runs
    /// validated as UTF-8 when an escape or the end flushes them; nil where it threw.
    static func reference(_ content: [UInt8]) -> String? {
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        var index = 0
        func flush() -> Bool {
            guard !run.isEmpty else { return true }
            guard let text = String(validating: run, as: UTF8.self) else { return false }
            scalars.append(contentsOf: text.unicodeScalars)
            run = []
            return true
        }
        func hex4() -> UInt32? {
            guard content.count - index >= 4,
                let value = UInt32(String(decoding: content[index..<index + 4], as: UTF8.self), radix: 16),
                content[index..<index + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
            else { return nil }
            index += 4
            return value
        }
        while index < content.count {
            let byte = content[index]
            guard byte == UInt8(ascii: "\\") else {
                guard byte >= 0x20, byte != UInt8(ascii: "\"") else { return nil }
                run.append(byte)
                index += 1
                continue
            }
            guard flush(), index + 1 < content.count else { return nil }
            let escaped = content[index + 1]
            index += 2
            let simple: [UInt8: Unicode.Scalar] = [
                UInt8(ascii: "\""): "\"", UInt8(ascii: "\\"): "\\", UInt8(ascii: "/"): "/", UInt8(ascii: "b"): "\u{08}",
                UInt8(ascii: "f"): "\u{0C}", UInt8(ascii: "n"): "\n", UInt8(ascii: "r"): "\r", UInt8(ascii: "t"): "\t",
            ]
            if let scalar = simple[escaped] {
                scalars.append(scalar)
                continue
            }
            guard escaped == UInt8(ascii: "u"), let high = hex4() else { return nil }
            if (0xD800...0xDBFF).contains(high) {
                guard content.count - index >= 2, content[index] == UInt8(ascii: "\\"),
                    content[index + 1] == UInt8(ascii: "u")
                else { return nil }
                index += 2
                guard let low = hex4(), (0xDC00...0xDFFF).contains(low),
                    let scalar = Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                else { return nil }
                scalars.append(scalar)
            } else {
                guard let scalar = Unicode.Scalar(high) else { return nil }
                scalars.append(scalar)
            }
        }
        return flush() ? String(scalars) : nil
    }

    /// What the parser makes of `{"k":"<content>"}`: the string, or nil when it refuses.
    static func parsed(_ content: [UInt8]) -> String? {
        let document = Array(#"{"k":""#.utf8) + content + Array(#""}"#.utf8)
        guard case .object(let members)? = try? JSONParser.parse(document), case .string(let text)? = members["k"]
        else { return nil }
        return text
    }

    /// Pieces next to which the run boundaries fall: escapes (valid, lone surrogates, short,
    /// unknown), valid multi-byte UTF-8, and bytes that are not UTF-8 or not allowed raw.
    static let pieces: [[UInt8]] = [
        Array("a".utf8), Array("Z9".utf8), Array(#"\n"#.utf8), Array(#"\""#.utf8), Array(#"\\"#.utf8),
        Array(#"\/"#.utf8), Array(#"\u00e9"#.utf8), Array(#"\u0000"#.utf8), Array(#"\ud83d\ude00"#.utf8),
        Array(#"\ud83d"#.utf8), Array(#"\ude00"#.utf8), Array(#"\ud83dx"#.utf8), Array(#"\u12"#.utf8),
        Array(#"\x"#.utf8), [0x5C], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0x7F], [0x80], [0xC3],
        [0xE2, 0x82], [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x01], [0x1F], [0x09],
    ]

    @Test func randomStringsParseExactlyAsTheScalarReadingDid() {
        var rng = SplitMix64(state: 2026)
        var refused = 0
        for _ in 0..<20_000 {
            let count = Int(rng.next() % 7)
            let content = (0..<count).flatMap { _ in Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))] }
            let expected = Self.reference(content)
            if expected == nil { refused += 1 }
            #expect(Self.parsed(content) == expected, "content \(content)")
        }
        // Both outcomes were exercised, so the comparison could have failed either way.
        #expect(refused > 1_000 && refused < 19_000)
    }

    /// A megabyte of multi-byte text with an escape in the middle and at each end, then the
    /// same with one byte broken on either side of an escape: each run is validated on its own.
    @Test func hugeStringsWithEscapesAtTheSeamsParseOrAreRefused() {
        let unit: [UInt8] = Array("é€😀".utf8)
        var text: [UInt8] = []
        for _ in 0..<110_000 { text += unit }
        let middle = text.count / 2
        let newline: [UInt8] = Array(#"\n"#.utf8)
        let head = Array(text[..<middle])
        let tail = Array(text[middle...])
        var seams: [UInt8] = newline + head
        seams += Array(#"\u00e9"#.utf8)
        seams += tail
        seams += Array(#"\t"#.utf8)
        var expected = "\n" + String(decoding: head, as: UTF8.self)
        expected += "é" + String(decoding: tail, as: UTF8.self) + "\t"
        #expect(Self.parsed(seams) == expected)
        #expect(Self.parsed(text) == String(decoding: text, as: UTF8.self))
        // A multi-byte sequence cut by an escape: its lead byte ends the run before the escape.
        let cut: [UInt8] = Array(text[..<1_000]) + newline + Array(text[1_000...])
        #expect(Self.parsed(cut) == nil)
        #expect(Self.reference(cut) == nil)
        // A stray continuation byte right after an escape, far into the string.
        let stray: [UInt8] = head + newline + [0x80] + tail
        #expect(Self.parsed(stray) == nil)
    }
}
