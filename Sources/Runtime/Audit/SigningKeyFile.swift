import Foundation
public import Privacy

#if canImport(Glibc)
import Glibc
#endif

/// The auditor's Ed25519 key on disk: 64 hex digits in a file of mode 0600, and the public key
/// (64 hex digits) in `<file>.pub` beside it.
///
/// Why files the auditor creates itself: the private key must exist before the first ledger line
/// and must never be printed or published; the public key is what `fedpulse audit verify
/// --public-key` needs, and is safe to hand to anyone who checks the ledger.
public enum SigningKeyFile {
    /// Loads the key at `path`, or creates it (mode 0600, O_EXCL) when the file does not exist,
    /// and (re)writes `<path>.pub`. `warning` names a key file others can read.
    public static func loadOrCreate(path: String) throws -> (key: LedgerSigningKey, created: Bool, warning: String?) {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var created = false
        let key: LedgerSigningKey
        if FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let loaded = LedgerSigningKey(hex: text) else {
                throw RoleError("the signing key \(path) is not 64 hex digits of an Ed25519 key")
            }
            key = loaded
        } else {
            var generator = SystemRandomNumberGenerator()
            guard let fresh = LedgerSigningKey.generate(using: &generator) else {
                throw RoleError("could not generate an Ed25519 signing key")
            }
            try writeSecret(fresh.hex + "\n", to: path)
            key = fresh
            created = true
        }
        let publicPath = path + ".pub"
        let publicText = key.publicKey.hex + "\n"
        if (try? String(contentsOfFile: publicPath, encoding: .utf8)) != publicText {
            try AtomicFile.write(Data(publicText.utf8), to: URL(fileURLWithPath: publicPath))
        }
        var warning: String?
        if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
            mode & 0o077 != 0
        {
            warning = "the signing key \(path) is readable by others (mode \(String(mode, radix: 8))); chmod 600 it"
        }
        return (key, created, warning)
    }

    /// Reads a public key file (64 hex digits, as the auditor writes to `<key>.pub`).
    public static func publicKey(at path: String) throws -> LedgerPublicKey {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RoleError("cannot read the public key \(path): \(error.localizedDescription)")
        }
        guard let key = LedgerPublicKey(hex: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw RoleError("\(path) is not an Ed25519 public key (64 hex digits)")
        }
        return key
    }

    /// Creates `path` with mode 0600 and fails if it appeared meanwhile (never overwrite a key).
    private static func writeSecret(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PersistenceError(path: path, call: "open", code: errno) }
        defer { close(fd) }
        try writeAndSync(Array(text.utf8), to: fd, path: path)
        AtomicFile.syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent())
    }
}
