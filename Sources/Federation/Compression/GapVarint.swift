import Wire

/// The `gapvarint` index frame: strictly increasing indices as LEB128 gaps (index₀ + 1, then
/// indexᵢ − indexᵢ₋₁), so a sorted top-k set at 10 % costs about one byte per index, not four.
///
/// Gaps are ≥ 1 by construction, so a 0 gap (a repeated index) is malformed, not a no-op; the
/// decoder checks every index against the model before a single write.
enum GapVarint {
    static func encode(_ indices: [Int]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(indices.count + indices.count / 4)
        var previous = -1
        for index in indices {
            var gap = UInt64(index - previous)
            previous = index
            while gap >= 0x80 {
                bytes.append(UInt8(gap & 0x7F) | 0x80)
                gap >>= 7
            }
            bytes.append(UInt8(gap))
        }
        return bytes
    }

    /// Exactly `count` indices, strictly increasing, each < `bound`, using every byte; else why not.
    static func decode(_ bytes: [UInt8], count: Int, bound: Int) -> Result<[Int], WireError> {
        var indices: [Int] = []
        indices.reserveCapacity(min(count, bound))
        var position = 0
        var previous = -1
        while position < bytes.count {
            var gap = 0
            var shift = 0
            while true {
                guard position < bytes.count, shift <= 28 else {
                    return .failure(
                        WireError(
                            code: .byteLengthMismatch,
                            detail: "index \(indices.count): truncated or over-long varint"
                        )
                    )
                }
                let byte = bytes[position]
                position += 1
                gap |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            guard gap >= 1 else {
                return .failure(
                    WireError(code: .shapeMismatch, detail: "index \(indices.count): duplicate or out-of-order index")
                )
            }
            let index = previous + gap
            guard index < bound else {
                return .failure(WireError(code: .shapeMismatch, detail: "index \(index) is out of range 0..<\(bound)"))
            }
            guard indices.count < count else {
                return .failure(WireError(code: .shapeMismatch, detail: "more than the \(count) indices announced"))
            }
            indices.append(index)
            previous = index
        }
        guard indices.count == count else {
            return .failure(WireError(code: .shapeMismatch, detail: "\(indices.count) indices, expected \(count)"))
        }
        return .success(indices)
    }
}
