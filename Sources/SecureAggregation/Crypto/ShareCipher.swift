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
        do {
            let nonce = try ChaChaPoly.Nonce(data: generator.bytes(12))
            let box = try ChaChaPoly.seal(
                pair.selfMaskSeed.bytes + pair.maskKey.bytes,
                using: key,
                nonce: nonce,
                authenticating: associatedData(roundId: roundId, sender: sender, recipient: recipient)
            )
            return EncryptedShare(sender: sender, recipient: recipient, ciphertext: Array(box.combined))
        } catch {
            throw .invalidKey
        }
    }

    /// Opens a share pair, or nil when the tag fails or the plaintext is not two canonical shares.
    static func open(_ share: EncryptedShare, key: SymmetricKey, roundId: String) -> SharePair? {
        guard share.ciphertext.count == EncryptedShare.ciphertextByteCount,
            let box = try? ChaChaPoly.SealedBox(combined: share.ciphertext),
            let plain = try? ChaChaPoly.open(
                box,
                using: key,
                authenticating: associatedData(roundId: roundId, sender: share.sender, recipient: share.recipient)
            )
        else { return nil }
        let bytes = Array(plain)
        guard bytes.count == 2 * ShamirShare.byteCount,
            let seedShare = ShamirShare(bytes: bytes[0..<ShamirShare.byteCount]),
            let keyShare = ShamirShare(bytes: bytes[ShamirShare.byteCount...])
        else { return nil }
        return SharePair(selfMaskSeed: seedShare, maskKey: keyShare)
    }
}
