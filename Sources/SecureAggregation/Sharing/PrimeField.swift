/// Arithmetic modulo the Mersenne prime 2^61 − 1, the field Shamir shares live in.
///
/// A Mersenne prime makes reduction two shifts and an add, and 61 bits hold a 32-bit limb of a
/// secret with room to spare, so a 32-byte secret is eight independent sharings over one field
/// with no big-integer code. Every operation takes and returns canonical values in `0..<p`.
enum PrimeField {
    static let modulus: UInt64 = (1 << 61) - 1

    static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let sum = a &+ b  // both < 2^61, so no overflow in 64 bits
        return sum >= modulus ? sum - modulus : sum
    }

    static func subtract(_ a: UInt64, _ b: UInt64) -> UInt64 {
        a >= b ? a - b : a &+ (modulus - b)
    }

    static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        // a·b = high·2^64 + low = (high·8 + low>>61)·2^61 + (low & p), and 2^61 ≡ 1 (mod p).
        let folded = (low & modulus) &+ ((low >> 61) | (high << 3))
        let once = (folded & modulus) &+ (folded >> 61)
        return once >= modulus ? once - modulus : once
    }

    /// a^(p−2) by Fermat: the field is small enough that exponentiation beats extended Euclid's branches.
    static func inverse(_ a: UInt64) -> UInt64? {
        guard a != 0 else { return nil }
        var result: UInt64 = 1
        var base = a
        var exponent = modulus - 2
        while exponent > 0 {
            if exponent & 1 == 1 { result = multiply(result, base) }
            base = multiply(base, base)
            exponent >>= 1
        }
        return result
    }

    /// A uniform element, by rejection on 61 random bits (only the value p itself is rejected).
    static func random(using generator: inout some RandomNumberGenerator) -> UInt64 {
        while true {
            let candidate = generator.next() & modulus
            if candidate < modulus { return candidate }
        }
    }
}
