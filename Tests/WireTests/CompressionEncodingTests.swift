import Testing

@testable import Wire

/// The codec's length rules for the compressed encodings: the frame must be exactly what the
/// descriptor's element count implies, before any compression code reads it.
@Suite struct CompressionEncodingTests {
    static let body = Update(
        roundId: 1,
        modelVersion: 0,
        workerId: "w",
        deviceClass: .watch,
        shard: 0,
        weight: 1,
        norm: 0,
        clipped: false
    )

    static func reason(_ tensor: Tensor) -> RejectReason? {
        let codec = WireCodec()
        do {
            let frames = try codec.encode(body, sender: "w", tensors: [tensor])
            _ = try codec.decode(frames, as: Update.self).get()
            return nil
        } catch {
            return error.code
        }
    }

    @Test func lengthsFollowTheEncoding() {
        #expect(Self.reason(.encoded(name: "delta", encoding: .q8, bytes: [1, 2, 3], elementCount: 3)) == nil)
        #expect(
            Self.reason(.encoded(name: "delta", encoding: .q8, bytes: [1, 2], elementCount: 3)) == .byteLengthMismatch
        )
        #expect(Self.reason(.encoded(name: "delta", encoding: .q4, bytes: [1, 2], elementCount: 3)) == nil)
        #expect(
            Self.reason(.encoded(name: "delta", encoding: .q4, bytes: [1, 2, 3], elementCount: 3))
                == .byteLengthMismatch
        )
        #expect(Self.reason(.encoded(name: "i", encoding: .gapVarint, bytes: [1, 2, 3], elementCount: 2)) == nil)
        #expect(
            Self.reason(.encoded(name: "i", encoding: .gapVarint, bytes: [1], elementCount: 2)) == .byteLengthMismatch
        )
        #expect(
            Self.reason(
                .encoded(name: "i", encoding: .gapVarint, bytes: [UInt8](repeating: 1, count: 11), elementCount: 2)
            ) == .byteLengthMismatch
        )
        #expect(
            Self.reason(.encoded(name: "delta", encoding: TensorEncoding(rawValue: "q2"), bytes: [1], elementCount: 4))
                == .unsupportedEncoding
        )
    }

    /// A huge element count cannot overflow the length rule into acceptance.
    @Test func hugeCountsAreBounded() {
        #expect(TensorEncoding.gapVarint.byteLengths(elements: Int.max / 2) == nil)
        #expect(TensorEncoding.gapRice.byteLengths(elements: Int.max / 2) == nil)
        #expect(TensorEncoding.gapRice.byteLengths(elements: 16) == 3...81)
        #expect(TensorEncoding.f32le.byteLengths(elements: Int.max / 2) == nil)
    }

    /// The scale is the round's, not the update's, and the round's is bounded: a `round.open`
    /// announcing R = 10⁹ (or a quantized round without R) does not decode.
    @Test func aHugeOrMissingRangeIsRefused() {
        var settings = CompressionSettings(quantization: .q8, sparsification: .none, range: 1e9)
        #expect(throws: WireError.self) { try settings.validate(FieldCheck()) }
        settings.range = nil
        #expect(throws: WireError.self) { try settings.validate(FieldCheck()) }
        settings.range = 0.5
        #expect(throws: Never.self) { try settings.validate(FieldCheck()) }
        #expect(!CompressionSettings(quantization: .f32, sparsification: .topk, fraction: 0.1).isLinear)
        #expect(
            CompressionSettings(quantization: .q8, sparsification: .randk, fraction: 0.1, range: 1, seed: 1).isLinear
        )
    }
}
