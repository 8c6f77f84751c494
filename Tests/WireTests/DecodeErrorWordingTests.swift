import Testing

@testable import Wire

/// A rejection's detail is what an operator reads in the log; it must name the offending field.
struct DecodeErrorWordingTests {
    @Test(arguments: [JSONValue.number(0.5), .string("0"), .number(1e300)])
    func nonIntegerShardNamesTheField(_ value: JSONValue) throws {
        // A fractional `norm` (a double field) sits beside it and must not be blamed.
        let frames = editingHeader(Fixtures.updateFrames()) {
            $0.setting("body.norm", to: .number(2.5)).setting("body.shard", to: value)
        }
        guard case .failure(let error) = WireCodec().decode(frames, as: Update.self) else {
            Issue.record("a non-integer shard was accepted")
            return
        }
        #expect(error.code == .malformedHeader)
        #expect(error.detail.hasPrefix("body.shard:"), "detail: \(error.detail)")
        #expect(!error.detail.contains("not valid JSON"), "detail: \(error.detail)")
    }
}
