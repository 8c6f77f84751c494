internal import Crypto

/// HKDF-SHA256 (RFC 5869) with HMAC-SHA256 (RFC 2104) over swift-crypto's `SHA256`: the same
/// bytes as `HKDF<SHA256>.deriveKey`, for a fraction of the CPU.
///
/// Why not swift-crypto's `HKDF<SHA256>`: it and `HMAC` are generic over the hash function and
/// over `DataProtocol` and are not inlinable, so every call from this module runs unspecialised
/// code (generic-metadata lookups, a `SymmetricKey` and pad arrays per step, retain/release
/// around each). In the 501-device demo, `HKDF.expand`, `HKDF.extract` and `HMAC.init(key:)`
/// took about 16 % of all CPU while the SHA-256 compressions under them took 1 %; a device
/// derives about 3k keys per round (k share keys each way and k pairwise seeds). Here the hash
/// is swift-crypto's concrete `SHA256` (BoringSSL's compression, nothing hand-written); only the
/// RFC 2104 wrapping (key padded to one block, XOR with 0x36 and 0x5c) is spelled out, on the
/// stack. `HKDFTests` pin it to RFC 5869's SHA-256 vectors and to `HKDF<SHA256>`.
enum HKDFSHA256 {
    /// SHA-256's block size, which an HMAC key is padded (or hashed down) to.
    static let blockByteCount = 64
    static let digestByteCount = 32
    /// RFC 5869: at most 255 blocks of output.
    static let maxOutputByteCount = 255 * digestByteCount

    /// RFC 5869's extract step as HMAC pads keyed by the PRK, ready for any number of expands.
    ///
    /// Why a value and not the PRK bytes: a device derives two share keys per neighbour (one each
    /// way) from one cached agreement every round, and its c key outlives rounds
    /// (`SecAggCipherKey`), so the extract and the PRK's pads are computed once per peer and kept,
    /// and a round's share key costs only T(1).
    struct PseudorandomKey: Sendable {
        let pads: (inner: SHA256, outer: SHA256)
    }

    /// Extract: PRK = HMAC(salt, IKM), returned as its pads; an empty salt is HashLen zeros,
    /// which pads like empty.
    static func extract(inputKeyMaterial: [UInt8], salt: [UInt8] = []) -> PseudorandomKey {
        let prk = inputKeyMaterial.withUnsafeBytes { ikm in
            let feed: (inout SHA256) -> Void = { $0.update(bufferPointer: ikm) }
            return salt.isEmpty
                ? authenticationCode(pads: emptySaltPads, feed)
                : salt.withUnsafeBytes { authenticationCode(key: $0, feed) }
        }
        return PseudorandomKey(pads: prk.withUnsafeBytes { pads(key: $0) })
    }

    /// The first 32 bytes of expand: T(1) = HMAC(PRK, info | 0x01), the module's only key size.
    static func firstBlock(_ prk: PseudorandomKey, info: [UInt8]) -> [UInt8] {
        info.withUnsafeBytes { infoBytes in
            authenticationCode(pads: prk.pads) { hasher in
                hasher.update(bufferPointer: infoBytes)
                withUnsafeBytes(of: UInt8(1)) { hasher.update(bufferPointer: $0) }
            }
        }
    }

    /// RFC 5869's extract-then-expand. RFC 5869 allows at most 255 × 32 bytes of output, so a
    /// longer request gets that many (every caller asks for a 32-byte key).
    static func deriveKey(
        inputKeyMaterial: [UInt8],
        salt: [UInt8] = [],
        info: [UInt8],
        outputByteCount: Int = 32
    ) -> [UInt8] {
        let outputByteCount = min(max(outputByteCount, 0), maxOutputByteCount)
        let extracted = extract(inputKeyMaterial: inputKeyMaterial, salt: salt)
        if outputByteCount == digestByteCount { return firstBlock(extracted, info: info) }
        // Expand: T(i) = HMAC(PRK, T(i−1) | info | i), output T(1) | T(2) | … cut to length.
        var output: [UInt8] = []
        output.reserveCapacity(outputByteCount + digestByteCount)
        var previous: [UInt8] = []
        var counter: UInt8 = 1
        info.withUnsafeBytes { infoBytes in
            while output.count < outputByteCount {
                let block = authenticationCode(pads: extracted.pads) { hasher in
                    previous.withUnsafeBytes { hasher.update(bufferPointer: $0) }
                    hasher.update(bufferPointer: infoBytes)
                    withUnsafeBytes(of: counter) { hasher.update(bufferPointer: $0) }
                }
                previous = block
                output += block
                counter &+= 1
            }
        }
        return Array(output.prefix(outputByteCount))
    }

    /// HMAC-SHA256(key, message), the message fed by `feed`.
    static func authenticationCode(key: UnsafeRawBufferPointer, _ feed: (inout SHA256) -> Void) -> [UInt8] {
        authenticationCode(pads: pads(key: key), feed)
    }

    /// HMAC's two hashers once each has taken its padded key block (RFC 2104: the key, hashed
    /// first if longer than a block, zero-padded to a block, XOR 0x36 inside and 0x5c outside).
    static func pads(key: UnsafeRawBufferPointer) -> (inner: SHA256, outer: SHA256) {
        guard key.count <= blockByteCount else {
            var hasher = SHA256()
            hasher.update(bufferPointer: key)
            let hashed = Array(hasher.finalize())
            return hashed.withUnsafeBytes { pads(key: $0) }
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: blockByteCount) { pad in
            func padded(_ byte: UInt8) -> UnsafeRawBufferPointer {
                for index in 0..<blockByteCount { pad[index] = (index < key.count ? key[index] : 0) ^ byte }
                return UnsafeRawBufferPointer(pad)
            }
            var inner = SHA256()
            inner.update(bufferPointer: padded(0x36))
            var outer = SHA256()
            outer.update(bufferPointer: padded(0x5c))
            return (inner, outer)
        }
    }

    /// The pads of the empty salt, which every key of the module is extracted with: computed
    /// once, and copied per key (a `SHA256` copies its state on write), two compressions fewer.
    static let emptySaltPads: (inner: SHA256, outer: SHA256) = pads(key: UnsafeRawBufferPointer(start: nil, count: 0))

    static func authenticationCode(pads: (inner: SHA256, outer: SHA256), _ feed: (inout SHA256) -> Void) -> [UInt8] {
        var inner = pads.inner
        feed(&inner)
        let innerDigest = inner.finalize()
        var outer = pads.outer
        innerDigest.withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize().withUnsafeBytes { Array($0) }
    }
}
