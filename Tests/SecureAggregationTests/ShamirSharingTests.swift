import Learning
import Testing

@testable import SecureAggregation

@Suite struct ShamirSharingTests {
    static let points: [UInt64] = Array(1...9)

    @Test(arguments: [1, 2, 5, 9])
    func anyThresholdSubsetRebuildsTheSecret(threshold: Int) throws {
        var generator = SeededGenerator(seed: UInt64(threshold))
        let secret = generator.bytes(32)
        let shares = try ShamirSharing.split(secret, threshold: threshold, points: Self.points, using: &generator)
        #expect(try ShamirSharing.reconstruct(Array(shares.prefix(threshold)), threshold: threshold) == secret)
        #expect(try ShamirSharing.reconstruct(Array(shares.suffix(threshold)), threshold: threshold) == secret)
        #expect(try ShamirSharing.reconstruct(shares.shuffled(using: &generator), threshold: threshold) == secret)
    }

    @Test func oneFewerThanTheThresholdIsRefusedAndRevealsNothingByInterpolation() throws {
        var generator = SeededGenerator(seed: 42)
        let secret = generator.bytes(32)
        let threshold = 5
        let shares = try ShamirSharing.split(secret, threshold: threshold, points: Self.points, using: &generator)
        let tooFew = Array(shares.prefix(threshold - 1))
        #expect(throws: ShamirError.notEnoughShares(have: 4, need: 5)) {
            try ShamirSharing.reconstruct(tooFew, threshold: threshold)
        }
        let limbs = stride(from: 0, to: 32, by: 4).map { UInt64(secret.littleEndianUInt32(at: $0)) }
        let guess = ShamirSharing._interpolateUnchecked(tooFew)
        #expect(guess != nil)
        #expect(guess != limbs)
        // The same t − 1 shares are consistent with any other secret: a second sharing of a
        // different secret can give identical shares at those points for the right polynomial,
        // so interpolating them gives the degree-(t−2) fit, not the secret.
        #expect(ShamirSharing._interpolateUnchecked(Array(shares.prefix(threshold))) == limbs)
    }

    @Test func malformedSharesAndPointsAreRefused() throws {
        var generator = SeededGenerator(seed: 3)
        #expect(throws: ShamirError.invalidPoints) {
            try ShamirSharing.split(generator.bytes(32), threshold: 2, points: [1, 1, 2], using: &generator)
        }
        #expect(throws: ShamirError.invalidPoints) {
            try ShamirSharing.split(generator.bytes(32), threshold: 2, points: [0, 1, 2], using: &generator)
        }
        #expect(throws: ShamirError.invalidThreshold(threshold: 4, holders: 3)) {
            try ShamirSharing.split(generator.bytes(32), threshold: 4, points: [1, 2, 3], using: &generator)
        }
        #expect(throws: ShamirError.wrongSecretLength(31)) {
            try ShamirSharing.split(generator.bytes(31), threshold: 2, points: [1, 2, 3], using: &generator)
        }
        let share = try #require(
            try ShamirSharing.split(generator.bytes(32), threshold: 2, points: [1, 2], using: &generator).first
        )
        #expect(ShamirShare(bytes: share.bytes) == share)
        #expect(ShamirShare(bytes: share.bytes.dropLast()) == nil)
        var nonCanonical = share.bytes
        for index in 8..<16 { nonCanonical[index] = 0xFF }  // first limb ≥ p
        #expect(ShamirShare(bytes: nonCanonical) == nil)
        var zeroPoint = share.bytes
        for index in 0..<8 { zeroPoint[index] = 0 }
        #expect(ShamirShare(bytes: zeroPoint) == nil)
    }

    @Test func fieldArithmeticAgreesWithWideIntegers() {
        var generator = SeededGenerator(seed: 9)
        let p = PrimeField.modulus
        for _ in 0..<1000 {
            let a = PrimeField.random(using: &generator)
            let b = PrimeField.random(using: &generator)
            let wide = a.multipliedFullWidth(by: b)
            let expected = p.dividingFullWidth((wide.high % p, wide.low)).remainder
            #expect(PrimeField.multiply(a, b) == expected)
            #expect(PrimeField.add(a, b) == (a + b) % p)
            if let inverse = PrimeField.inverse(a) { #expect(PrimeField.multiply(a, inverse) == 1) }
        }
        #expect(PrimeField.multiply(p - 1, p - 1) == 1)
        #expect(PrimeField.inverse(0) == nil)
    }
}
