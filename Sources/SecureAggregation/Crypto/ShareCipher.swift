internal import Crypto
internal import Foundation

/// A device's shares for one neighbour, sealed so that only that neighbour opens them.
public struct EncryptedShare: Sendable, Hashable {
    public let sender: String
    public let recipient: String
    /// ChaChaPoly's combined form: 12-byte nonce, ciphertext, 16-byte tag.
    public let ciphertext: [UInt8]

    public init(sender: String, recipient: String, ciphertext: [UInt8]) {
        self.sender = sender
        self.recipient = recipient
        self.ciphertext = ciphertext
    }

    /// Nonce, two shares and tag; anything else is refused before decryption is tried.
    public static let ciphertextByteCount = 12 + 2 * ShamirShare.byteCount + 16
}

/// The two shares a neighbour keeps for a device: of its self-mask seed b_u and of its mask
/// private key s_u. The unmasking stage asks for exactly one of the two per device.
struct SharePair: Equatable {
    let selfMaskSeed: ShamirShare
    let maskKey: ShamirShare
}

/// ChaChaPoly under a key derived from the cipher key pairs, with the round and both ids as
/// associated data, so that a ciphertext replayed into another round, or relabelled by the
/// server as coming from someone else, fails authentication instead of being believed.
enum ShareCipher {
    static func associatedData(roundId: String, sender: String, recipient: String) -> [UInt8] {
        KeyDerivation.info(.shareCipher, roundId: roundId, ids: [sender, recipient])
    }

    static func seal(
        _ pair: SharePair,
        key: SymmetricKey,
        roundId: String,
        sender: String,
        recipient: String,
        using generator: inout some RandomNumberGenerator
    ) throws(SecAggKeyError) -> EncryptedShare {
        try seal(
            pair,
            key: key,
            associatedData: associatedData(roundId: roundId, sender: sender, recipient: recipient),
            sender: sender,
            recipient: recipient,
            using: &generator
        )
    }

    /// `seal` with the associated data already built: the device derives the key from the same
    /// bytes (`KeyDerivation.info(.shareCipher, …)`), so it builds them once per share, not twice.
    static func seal(
        _ pair: SharePair,
        key: SymmetricKey,
        associatedData: [UInt8],
        sender: String,
        recipient: String,
        using generator: inout some RandomNumberGenerator
    ) throws(SecAggKeyError) -> EncryptedShare {
        var plain: [UInt8] = []
        plain.reserveCapacity(2 * ShamirShare.byteCount)
        pair.selfMaskSeed.append(to: &plain)
        pair.maskKey.append(to: &plain)
        do {
            let nonce = try ChaChaPoly.Nonce(data: generator.bytes(12))
            let box = try ChaChaPoly.seal(plain, using: key, nonce: nonce, authenticating: associatedData)
            return EncryptedShare(sender: sender, recipient: recipient, ciphertext: Array(box.combined))
        } catch {
            throw .invalidKey
        }
    }

    /// Opens a share pair, or nil when the tag fails or the plaintext is not two canonical shares.
    static func open(_ share: EncryptedShare, key: SymmetricKey, roundId: String) -> SharePair? {
        open(
            share,
            key: key,
            associatedData: associatedData(roundId: roundId, sender: share.sender, recipient: share.recipient)
        )
    }

    /// `open` with the associated data the caller built for `share`'s sender and recipient.
    static func open(_ share: EncryptedShare, key: SymmetricKey, associatedData: [UInt8]) -> SharePair? {
        guard share.ciphertext.count == EncryptedShare.ciphertextByteCount,
            let box = try? ChaChaPoly.SealedBox(combined: share.ciphertext),
            let plain = try? ChaChaPoly.open(box, using: key, authenticating: associatedData),
            plain.count == 2 * ShamirShare.byteCount
        else { return nil }
        let shares = plain.withUnsafeBytes { bytes in
            (
                ShamirShare(bytes: bytes[0..<ShamirShare.byteCount]),
                ShamirShare(bytes: bytes[ShamirShare.byteCount...])
            )
        }
        guard let seedShare = shares.0, let keyShare = shares.1 else { return nil }
        return SharePair(selfMaskSeed: seedShare, maskKey: keyShare)
    }
}
