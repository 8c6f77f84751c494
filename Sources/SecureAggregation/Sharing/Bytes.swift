extension Array where Element == UInt8 {
    mutating func appendLittleEndian(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func appendLittleEndian(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    /// Callers check `offset + 8 <= count` first; every caller in this module does.
    func littleEndianUInt64(at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(self[offset + $1]) << UInt64(8 * $1) }
    }

    func littleEndianUInt32(at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(self[offset + $1]) << UInt32(8 * $1) }
    }

    /// A length-prefixed field, so that concatenated ids cannot collide ("ab"+"c" vs "a"+"bc").
    mutating func appendField(_ text: String) {
        let utf8 = Array(text.utf8)
        appendLittleEndian(UInt32(truncatingIfNeeded: utf8.count))
        append(contentsOf: utf8)
    }
}

extension RandomNumberGenerator {
    mutating func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count { out.appendLittleEndian(next() as UInt64) }
        return Array(out.prefix(count))
    }
}
