/// One holder's share of a 32-byte secret: its evaluation point and one field element per limb.
public struct ShamirShare: Sendable, Hashable {
    /// The holder's evaluation point, never 0 (0 is where the secret sits).
    public let x: UInt64
    /// One value per 32-bit limb of the secret, each `< 2^61 − 1`.
    public let values: [UInt64]

    public init(x: UInt64, values: [UInt64]) {
        self.x = x
        self.values = values
    }

    /// 8 bytes of `x` then 8 bytes per limb, little-endian: what an AEAD ciphertext carries.
    public static let byteCount = 8 + 8 * ShamirSharing.limbCount

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.byteCount)
        append(to: &out)
        return out
    }

    /// Appends `bytes` to `out` without an intermediate array (the wire lays shares end to end).
    func append(to out: inout [UInt8]) {
        out.appendLittleEndian(x)
        for value in values { out.appendLittleEndian(value) }
    }

    /// Parses `bytes`, refusing anything but canonical field elements and a non-zero point.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        var words: [UInt64] = []
        words.reserveCapacity(ShamirSharing.limbCount + 1)
        var word: UInt64 = 0
        var shift: UInt64 = 0
        for byte in bytes {
            word |= UInt64(byte) << shift
            shift += 8
            if shift == 64 {
                guard word < PrimeField.modulus else { return nil }
                words.append(word)
                word = 0
                shift = 0
            }
        }
        guard let x = words.first, x != 0 else { return nil }
        self.init(x: x, values: Array(words.dropFirst()))
    }
}

/// Why a secret could not be shared or rebuilt.
public enum ShamirError: Error, Equatable, Sendable {
    /// The threshold is below 1 or above the number of holders.
    case invalidThreshold(threshold: Int, holders: Int)
    /// An evaluation point is 0, ≥ p, or repeated.
    case invalidPoints
    /// The secret is not 32 bytes.
    case wrongSecretLength(Int)
    /// Fewer shares than the threshold: the secret is information-theoretically hidden.
    case notEnoughShares(have: Int, need: Int)
    /// The shares disagree in shape, or rebuild to a value that cannot be a 32-bit limb.
    case inconsistentShares
}

/// Shamir's t-of-n sharing of 32-byte secrets over GF(2^61 − 1).
///
/// The secret is cut into eight 32-bit limbs, each shared with its own random polynomial of
/// degree t − 1 at the same points. Any t shares rebuild every limb by Lagrange interpolation
/// at 0; t − 1 shares are uniformly distributed whatever the secret (the polynomial has one
/// free coefficient left), which is what lets a device's neighbours hold its mask seeds.
public enum ShamirSharing {
    public static let secretByteCount = 32
    static let limbCount = secretByteCount / 4

    /// Shares `secret` at `points` so that any `threshold` of them rebuild it.
    public static func split(
        _ secret: [UInt8],
        threshold: Int,
        points: [UInt64],
        using generator: inout some RandomNumberGenerator
    ) throws(ShamirError) -> [ShamirShare] {
        guard secret.count == secretByteCount else { throw .wrongSecretLength(secret.count) }
        guard threshold >= 1, threshold <= points.count else {
            throw .invalidThreshold(threshold: threshold, holders: points.count)
        }
        guard points.allSatisfy({ $0 != 0 && $0 < PrimeField.modulus }), Set(points).count == points.count else {
            throw .invalidPoints
        }
        // One flat table (point-major, a share's limbs side by side) and one coefficient buffer
        // for all eight limbs, instead of a growing array per point and a polynomial per limb:
        // a device splits two secrets over k points every round. Same draws in the same order.
        var table = [UInt64](repeating: 0, count: points.count * limbCount)
        var coefficients = [UInt64](repeating: 0, count: threshold)
        for limb in 0..<limbCount {
            coefficients[0] = UInt64(secret.littleEndianUInt32(at: limb * 4))
            for degree in 1..<threshold { coefficients[degree] = PrimeField.random(using: &generator) }
            for (index, point) in points.enumerated() {
                table[index * limbCount + limb] = evaluate(coefficients, at: point)
            }
        }
        return points.enumerated().map { index, point in
            ShamirShare(x: point, values: Array(table[index * limbCount..<(index + 1) * limbCount]))
        }
    }

    /// Rebuilds the secret from the first `threshold` shares (by point); refuses fewer.
    public static func reconstruct(_ shares: [ShamirShare], threshold: Int) throws(ShamirError) -> [UInt8] {
        guard threshold >= 1 else { throw .invalidThreshold(threshold: threshold, holders: shares.count) }
        guard shares.count >= threshold else { throw .notEnoughShares(have: shares.count, need: threshold) }
        let used = Array(shares.sorted { $0.x < $1.x }.prefix(threshold))
        guard Set(used.map(\.x)).count == used.count, used.allSatisfy({ $0.x != 0 }) else { throw .invalidPoints }
        guard used.allSatisfy({ $0.values.count == limbCount }) else { throw .inconsistentShares }
        let weights = try lagrangeWeightsAtZero(used.map(\.x))
        var secret: [UInt8] = []
        secret.reserveCapacity(secretByteCount)
        for limb in 0..<limbCount {
            var value: UInt64 = 0
            for (share, weight) in zip(used, weights) {
                value = PrimeField.add(value, PrimeField.multiply(share.values[limb], weight))
            }
            guard value <= UInt64(UInt32.max) else { throw .inconsistentShares }
            secret.appendLittleEndian(UInt32(value))
        }
        return secret
    }

    /// Interpolates at 0 from any set of shares, without the threshold check: only for tests that
    /// show what t − 1 shares do (not) reveal.
    package static func _interpolateUnchecked(_ shares: [ShamirShare]) -> [UInt64]? {
        guard let weights = try? lagrangeWeightsAtZero(shares.map(\.x)) else { return nil }
        return (0..<limbCount).map { limb in
            zip(shares, weights).reduce(0) { PrimeField.add($0, PrimeField.multiply($1.0.values[limb], $1.1)) }
        }
    }

    /// Horner's rule, highest coefficient first.
    private static func evaluate(_ coefficients: [UInt64], at point: UInt64) -> UInt64 {
        var value: UInt64 = 0
        for coefficient in coefficients.reversed() {
            value = PrimeField.add(PrimeField.multiply(value, point), coefficient)
        }
        return value
    }

    /// λ_i = Π_{j≠i} x_j / (x_j − x_i), the weight of share i in the value at 0.
    ///
    /// All t denominators are inverted with one field inversion (Montgomery's trick: invert the
    /// product, then peel each factor off with two multiplications): a shard rebuilds one secret
    /// per survivor each round, and t separate Fermat inversions of about 120 multiplications
    /// each were most of that work.
    private static func lagrangeWeightsAtZero(_ points: [UInt64]) throws(ShamirError) -> [UInt64] {
        var numerators: [UInt64] = []
        var denominators: [UInt64] = []
        numerators.reserveCapacity(points.count)
        denominators.reserveCapacity(points.count)
        for (i, xi) in points.enumerated() {
            var numerator: UInt64 = 1
            var denominator: UInt64 = 1
            for (j, xj) in points.enumerated() where j != i {
                numerator = PrimeField.multiply(numerator, xj)
                denominator = PrimeField.multiply(denominator, PrimeField.subtract(xj, xi))
            }
            numerators.append(numerator)
            denominators.append(denominator)
        }
        // prefix[i] = d_0 · … · d_(i−1); a zero denominator (a repeated point) makes the
        // product 0, which has no inverse.
        var prefix: [UInt64] = []
        prefix.reserveCapacity(points.count)
        var product: UInt64 = 1
        for denominator in denominators {
            prefix.append(product)
            product = PrimeField.multiply(product, denominator)
        }
        guard var inverse = PrimeField.inverse(product) else { throw .invalidPoints }
        var weights = [UInt64](repeating: 0, count: points.count)
        for i in points.indices.reversed() {
            // inverse = (d_0 · … · d_i)^−1 here, so this times the prefix is d_i^−1.
            weights[i] = PrimeField.multiply(numerators[i], PrimeField.multiply(inverse, prefix[i]))
            inverse = PrimeField.multiply(inverse, denominators[i])
        }
        return weights
    }
}
