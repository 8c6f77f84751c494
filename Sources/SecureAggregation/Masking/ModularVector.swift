/// A vector of integers mod 2^bits: what devices mask and the shard sums.
///
/// All arithmetic wraps mod 2^bits on purpose (a mask is uniform only modulo the group order);
/// `SecAggConfiguration` is what guarantees that the *unmasked* sum never wraps.
public struct ModularVector: Sendable, Hashable {
    public let bits: Int
    public private(set) var values: [UInt64]

    /// Nil when `bits` is outside 1...64 or a value is not below 2^bits.
    public init?(bits: Int, values: [UInt64]) {
        guard (1...64).contains(bits) else { return nil }
        let mask = Self.mask(bits)
        guard values.allSatisfy({ $0 & ~mask == 0 }) else { return nil }
        self.bits = bits
        self.values = values
    }

    public static func zero(bits: Int, count: Int) -> ModularVector? {
        guard count >= 0 else { return nil }
        return ModularVector(bits: bits, values: [UInt64](repeating: 0, count: count))
    }

    static func mask(_ bits: Int) -> UInt64 { bits >= 64 ? .max : (1 << UInt64(bits)) - 1 }

    var mask: UInt64 { Self.mask(bits) }

    mutating func add(_ other: [UInt64]) {
        let mask = self.mask
        for index in values.indices { values[index] = (values[index] &+ other[index]) & mask }
    }

    mutating func subtract(_ other: [UInt64]) {
        let mask = self.mask
        for index in values.indices { values[index] = (values[index] &- other[index]) & mask }
    }

    /// Adds (or subtracts) `count` values made by `value(i)` into positions `start + i`.
    mutating func combine(from start: Int, count: Int, subtracting: Bool, _ value: (Int) -> UInt64) {
        let mask = self.mask
        values.withUnsafeMutableBufferPointer { buffer in
            for offset in 0..<count {
                let index = start + offset
                buffer[index] = (subtracting ? buffer[index] &- value(offset) : buffer[index] &+ value(offset)) & mask
            }
        }
    }

    /// The values read as two's-complement integers of `bits` bits: how a sum of signed
    /// quantized values comes back once the masks are gone.
    public var signedValues: [Int64] {
        let half: UInt64 = bits >= 64 ? 1 << 63 : 1 << UInt64(bits - 1)
        return values.map { value in
            if bits >= 64 { return Int64(bitPattern: value) }
            return value >= half ? -Int64(bitPattern: (1 << UInt64(bits)) - value) : Int64(bitPattern: value)
        }
    }

    // MARK: Packed form

    /// Bytes of the bit-packed form: `bits` bits per value, no padding between values.
    public static func packedByteCount(bits: Int, count: Int) -> Int? {
        let (total, overflow) = bits.multipliedReportingOverflow(by: count)
        guard !overflow, total <= Int.max - 7 else { return nil }
        return (total + 7) / 8
    }

    /// Little-endian bit packing, so a masked vector costs `bits`, not 64, bits per value on the wire.
    public var packed: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.packedByteCount(bits: bits, count: values.count) ?? 0)
        var bitPosition = 0
        for value in values {
            var remaining = bits
            var rest = value
            while remaining > 0 {
                let offset = bitPosition & 7
                let take = min(8 - offset, remaining)
                let chunk = rest & ((1 << UInt64(take)) - 1)
                out[bitPosition >> 3] |= UInt8(truncatingIfNeeded: chunk << UInt64(offset))
                rest = take >= 64 ? 0 : rest >> UInt64(take)
                bitPosition += take
                remaining -= take
            }
        }
        return out
    }

    /// Unpacks `count` values; nil when the byte count is not exactly what they need or a
    /// padding bit is set (two encodings of one vector would make digests disagree).
    public init?(packed: [UInt8], bits: Int, count: Int) {
        guard (1...64).contains(bits), count >= 0,
            let expected = Self.packedByteCount(bits: bits, count: count), packed.count == expected
        else { return nil }
        var values = [UInt64]()
        values.reserveCapacity(count)
        var bitPosition = 0
        for _ in 0..<count {
            var value: UInt64 = 0
            var filled = 0
            while filled < bits {
                let offset = bitPosition & 7
                let take = min(8 - offset, bits - filled)
                let chunk = UInt64(packed[bitPosition >> 3] >> UInt8(offset)) & ((1 << UInt64(take)) - 1)
                value |= chunk << UInt64(filled)
                filled += take
                bitPosition += take
            }
            values.append(value)
        }
        let usedBits = bitPosition & 7
        if usedBits != 0, let last = packed.last, last >> UInt8(usedBits) != 0 { return nil }
        self.init(bits: bits, values: values)
    }
}
