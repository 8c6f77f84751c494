import Foundation

/// A scaled container replica's own identity, for `--id-prefix watch-{replica}`.
///
/// Every replica of a scaled service runs the same command line, and with host networking they
/// all share one host name, so `{host}` gave every replica the same device ids (the coordinator
/// saw 4 of 12 workers). `{replica}` is a random token made once and kept in a file inside the
/// replica (its writable layer or a volume), so it differs between replicas on any network mode
/// and stays the same when the same replica restarts.
public enum ReplicaIdentity {
    /// The token in `file`, or a new one written there (folders created) when the file is missing.
    ///
    /// A file that holds something else is an error, not a reason to start a new identity: a
    /// replica that silently changed its ids would count as new devices.
    public static func token(file: String, using generator: inout some RandomNumberGenerator) throws -> String {
        if FileManager.default.fileExists(atPath: file) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw LabError("cannot read the replica id file \(file)")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard isToken(token) else { throw LabError("\(file) does not hold a replica id (8 of [0-9a-f])") }
            return token
        }
        let token = String(format: "%08x", UInt32.random(in: .min ... .max, using: &generator))
        let url = URL(fileURLWithPath: file)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((token + "\n").utf8).write(to: url, options: .atomic)
        return token
    }

    static func isToken(_ text: String) -> Bool {
        text.utf8.count == 8 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
