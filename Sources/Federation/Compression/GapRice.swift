import Wire

/// The `gaprice` index frame: strictly increasing indices as Golomb–Rice coded gaps.
///
/// Why not only `gapvarint`: a top-k set at 10 % has gaps of about 10, which LEB128 spends a whole
/// byte on, so top-k + q8 stopped at 19.9× fewer bytes than f32. Rice coding spends
/// `k + 1 + (gap − 1) >> k` bits per gap; with `k = ⌊log2(mean gap)⌋` that is about 5 bits
/// at 10 % and at most `k + 5` bits on average, whatever the set.
///
/// Layout: byte 0 is `k` (0…30); then, most significant bit first, per index the quotient
/// `(gap − 1) >> k` in unary (that many 1 bits, then a 0) and the `k` low bits of `gap − 1`,
/// where gap₀ = index₀ + 1 and gapᵢ = indexᵢ − indexᵢ₋₁. Trailing bits of the last byte are 0.
enum GapRice {
    /// The largest Rice parameter a frame may declare; gaps are below 2^31.
    static let maxParameter: UInt8 = 30

    static func encode(_ indices: [Int]) -> [UInt8] {
        let span = (indices.last ?? -1) + 1
        let meanGap = indices.isEmpty ? 1 : max(1, span / indices.count)
        let parameter = UInt8(min(Int(maxParameter), Int.bitWidth - 1 - meanGap.leadingZeroBitCount))
        var writer = BitWriter()
        writer.bytes.reserveCapacity(1 + indices.count)
        writer.bytes.append(parameter)
        var previous = -1
        for index in indices {
            let value = index - previous - 1
            previous = index
            for _ in 0..<(value >> Int(parameter)) { writer.append(bit: true) }
            writer.append(bit: false)
            var bit = Int(parameter) - 1
            while bit >= 0 {
                writer.append(bit: (value >> bit) & 1 == 1)
                bit -= 1
            }
        }
        return writer.bytes
    }

    /// Exactly `count` indices, strictly increasing, each < `bound`, padding bits 0; else why not.
    static func decode(_ bytes: [UInt8], count: Int, bound: Int) -> Result<[Int], WireError> {
        guard let parameter = bytes.first, parameter <= maxParameter else {
            return .failure(WireError(code: .byteLengthMismatch, detail: "gaprice frame without a Rice parameter ≤ 30"))
        }
        var reader = BitReader(bytes: bytes, bitPosition: 8)
        var indices: [Int] = []
        indices.reserveCapacity(min(count, bound))
        var previous = -1
        while indices.count < count {
            // The quotient is bounded by the model: a longer run of 1 bits cannot name an index < bound.
            var quotient = 0
            while true {
                guard let bit = reader.next() else {
                    return .failure(WireError(code: .byteLengthMismatch, detail: "index \(indices.count): truncated"))
                }
                if !bit { break }
                quotient += 1
                guard quotient <= bound else {
                    return .failure(
                        WireError(code: .shapeMismatch, detail: "index \(indices.count) is out of range 0..<\(bound)")
                    )
                }
            }
            var remainder = 0
            for _ in 0..<Int(parameter) {
                guard let bit = reader.next() else {
                    return .failure(WireError(code: .byteLengthMismatch, detail: "index \(indices.count): truncated"))
                }
                remainder = remainder << 1 | (bit ? 1 : 0)
            }
            let gap = quotient << Int(parameter) | remainder
            let (index, overflow) = (previous + 1).addingReportingOverflow(gap)
            guard !overflow, index < bound else {
                return .failure(
                    WireError(code: .shapeMismatch, detail: "index \(indices.count) is out of range 0..<\(bound)")
                )
            }
            indices.append(index)
            previous = index
        }
        guard reader.remainingBitsAreZeroPadding else {
            return .failure(WireError(code: .byteLengthMismatch, detail: "bytes after the \(count) indices announced"))
        }
        return .success(indices)
    }
}

/// Bits appended most significant first.
private struct BitWriter {
    var bytes: [UInt8] = []
    private var used = 8

    mutating func append(bit: Bool) {
        if used == 8 {
            bytes.append(0)
            used = 0
        }
        if bit { bytes[bytes.count - 1] |= 0x80 >> UInt8(used) }
        used += 1
    }
}

/// Reads bits most significant first; nil past the end.
private struct BitReader {
    let bytes: [UInt8]
    var bitPosition: Int

    mutating func next() -> Bool? {
        let byteIndex = bitPosition >> 3
        guard byteIndex < bytes.count else { return nil }
        let bit = bytes[byteIndex] & (0x80 >> UInt8(bitPosition & 7)) != 0
        bitPosition += 1
        return bit
    }

    /// Only the zero bits of the last byte are left (a whole spare byte is malformed).
    var remainingBitsAreZeroPadding: Bool {
        let byteIndex = bitPosition >> 3
        if bitPosition & 7 == 0 { return byteIndex == bytes.count }
        guard byteIndex == bytes.count - 1 else { return false }
        let mask = UInt8(0xFF) >> UInt8(bitPosition & 7)
        return bytes[byteIndex] & mask == 0
    }
}
