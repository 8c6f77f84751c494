/// How a tensor frame's bytes represent its elements.
///
/// An open set in style: later issues add compressed and masked encodings, and a peer that
/// sends one this build does not know gets `unsupportedEncoding`, not `malformedHeader`.
public struct TensorEncoding: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Creates the body; `validate()` (run by the codec) checks the ranges.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// Little-endian IEEE-754 binary32, 4 bytes per element, on every host.
    public static let f32le = TensorEncoding(rawValue: "f32le")

    /// Stochastically rounded levels 0…255, one byte per element, on the range `[−R, R]` that
    /// `round.open`'s `compression.range` shares with the whole cohort (so sums stay linear).
    public static let q8 = TensorEncoding(rawValue: "q8")

    /// Levels 0…15, two elements per byte (element 2i in the low nibble); an odd count leaves
    /// the last high nibble 0.
    public static let q4 = TensorEncoding(rawValue: "q4")

    /// Strictly increasing coordinate indices as LEB128 varint gaps (first index + 1, then
    /// differences), at most 5 bytes each: the index frame of a top-k update.
    public static let gapVarint = TensorEncoding(rawValue: "gapvarint")

    /// Strictly increasing coordinate indices as Golomb–Rice coded gaps: byte 0 the Rice
    /// parameter k ≤ 30, then per index the unary quotient and k low bits of gap − 1, most
    /// significant bit first. About 5 bits per index at 10 % density, what top-k sends today.
    public static let gapRice = TensorEncoding(rawValue: "gaprice")

    /// The encodings this build decodes.
    /// Unsigned integers bit-packed little-endian at b bits each (b from the message header,
    /// 1…64; `secagg.masked`'s `modulusBits`), padding bits 0: a masked vector costs b bits per
    /// value instead of 32, and b is no longer capped by binary32's 24 exact bits.
    public static let packedBits = TensorEncoding(rawValue: "ubits")

    public static let supported: [TensorEncoding] = [.f32le, .q8, .q4, .gapVarint, .gapRice, .packedBits]

    /// The byte lengths a frame of `elements` elements may have, or nil for an encoding this
    /// build does not know or a count whose length overflows.
    func byteLengths(elements: Int) -> ClosedRange<Int>? {
        switch self {
        case .f32le:
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: 4)
            return overflow ? nil : bytes...bytes
        case .q8: return elements...elements
        case .q4:
            let bytes = elements / 2 + elements % 2
            return bytes...bytes
        case .gapVarint:
            let (most, overflow) = elements.multipliedReportingOverflow(by: 5)
            return overflow ? nil : elements...most
        case .gapRice:
            // At least one bit per index; at most k + 3 bits on average with the encoder's k,
            // bounded here by 5 bytes per index like gapvarint (the decoder checks every bit).
            let (most, overflow) = elements.multipliedReportingOverflow(by: 5)
            return overflow ? nil : (1 + (elements + 7) / 8)...(most + 1)
        case .packedBits:
            // 1 to 64 bits per element; the receiver, which knows b, checks the exact count.
            let (most, overflow) = elements.multipliedReportingOverflow(by: 8)
            return overflow ? nil : ((elements + 7) / 8)...most
        default: return nil
        }
    }
}

/// The `f32le` kernels, written against raw (possibly misaligned) bytes.
///
/// About a third of frames libzmq hands over start at an address that is not a multiple of 4,
/// so every read goes through `loadUnaligned` or `copyMemory`; `load(as:)` and `bindMemory`
/// would trap or misbehave there.
enum F32LE {
    /// The index of the first NaN or infinity, found from the bit pattern alone.
    ///
    /// Scans eight elements at a time without a branch per element, with integer operations
    /// every x86-64 has (no unsigned minimum, no mask extraction per vector): an exponent of
    /// all ones is NaN or infinity, and exactly then `(bits & 0x7F80_0000) + 0x0080_0000` carries
    /// into the sign bit. The exact index is looked up only in the block that has one.
    static func firstNonFinite(in raw: UnsafeRawBufferPointer) -> Int? {
        #if _endian(little)
        let count = raw.count / 4
        let lanes = 8
        let blocks = count / lanes
        let exponent = SIMD8<UInt32>(repeating: 0x7F80_0000)
        let carry = SIMD8<UInt32>(repeating: 0x0080_0000)
        let stride = MemoryLayout<SIMD8<UInt32>>.stride
        var block = 0
        // 32 vectors (1 KiB) per check keeps the loop branch-free most of the way.
        while block < blocks {
            let end = min(blocks, block + 32)
            var signs = SIMD8<UInt32>(repeating: 0)
            for index in block..<end {
                let bits = raw.loadUnaligned(fromByteOffset: index &* stride, as: SIMD8<UInt32>.self)
                signs |= (bits & exponent) &+ carry
            }
            if (signs & SIMD8<UInt32>(repeating: 0x8000_0000)) != SIMD8<UInt32>(repeating: 0) {
                return firstNonFiniteScalar(in: raw, from: block * lanes)
            }
            block = end
        }
        return firstNonFiniteScalar(in: raw, from: blocks * lanes)
        #else
        return firstNonFiniteScalar(in: raw, from: 0)
        #endif
    }

    private static func firstNonFiniteScalar(in raw: UnsafeRawBufferPointer, from start: Int) -> Int? {
        for element in start..<(raw.count / 4) {
            let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: element &* 4, as: UInt32.self))
            if bits & 0x7F80_0000 == 0x7F80_0000 { return element }
        }
        return nil
    }

    /// Decodes all whole elements of `raw` into a new array.
    static func decode(_ raw: UnsafeRawBufferPointer) -> [Float] {
        let count = raw.count / 4
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            if count > 0, let base = buffer.baseAddress, let source = raw.baseAddress {
                UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: count &* 4)
            }
            #else
            for element in 0..<count {
                let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: element &* 4, as: UInt32.self))
                buffer.initializeElement(at: element, to: Float(bitPattern: bits))
            }
            #endif
            initialized = count
        }
    }

    /// Adds `scale × element` to `accumulator[i]` for every element; the counts must match.
    static func accumulate(
        _ raw: UnsafeRawBufferPointer,
        into accumulator: UnsafeMutableBufferPointer<Float>,
        scale: Float
    ) {
        precondition(raw.count / 4 == accumulator.count, "F32LE.accumulate: element count mismatch")
        for element in 0..<accumulator.count {
            let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: element &* 4, as: UInt32.self))
            accumulator[element] += scale * Float(bitPattern: bits)
        }
    }

    /// Encodes `values` as little-endian bytes.
    static func encode(_ values: [Float]) -> [UInt8] {
        let byteCount = values.count * 4
        return [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for (element, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: element &* 4, as: UInt32.self)
            }
            initialized = byteCount
        }
    }
}
