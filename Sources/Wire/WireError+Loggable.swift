extension WireError {
    /// Longest detail a refusal carries, in Unicode scalars; the rest is cut with "…".
    static let maxDetailScalars = 1_024

    /// The same refusal with a detail fit for one log line: control characters (C0, DEL, C1,
    /// U+2028/U+2029) and `=` written as `\u{…}`, and at most ``maxDetailScalars`` scalars.
    ///
    /// Why: every role logs a refusal's detail as `reject.detail=…`, and the stream handler writes
    /// values as they are. A detail quotes what the sender wrote (a repeated key, an enum value in
    /// Foundation's own message, an endpoint), so an escaped newline there started a log line the
    /// sender composed, and a megabyte key made a megabyte line per message. Lines are
    /// `key=value` pairs, so a quoted ` round.id=999` forged a field on a real line (`lab status`
    /// greps `round.id=` for the last round); no refusal of the codec uses `=` itself.
    var loggable: WireError {
        var text = ""
        var scalars = 0
        for scalar in detail.unicodeScalars {
            guard scalars < Self.maxDetailScalars else {
                text += "…"
                break
            }
            scalars += 1
            switch scalar.value {
            case 0..<0x20, 0x3D, 0x7F...0x9F, 0x2028, 0x2029: text += "\\u{\(String(scalar.value, radix: 16))}"
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text == detail ? self : WireError(code: code, detail: text)
    }
}
