import Foundation
public import ZeroMQ

/// A folder of CURVE key files (`NAME.key` secret, mode 0600; `NAME.pub` public) and the
/// enrolment file naming them, as `fedpulse keygen` writes them one by one and the demo, compose
/// and lab launchers write them for a whole run.
public struct KeyDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The enrolment file of this directory.
    public var enrolmentPath: String { (path as NSString).appendingPathComponent("enrolment.txt") }

    /// The secret key file of `name`.
    public func secretKeyPath(of name: String) -> String { (path as NSString).appendingPathComponent("\(name).key") }

    /// Writes one key pair per party and an enrolment file listing them all (throwaway keys for
    /// one run; a real deployment makes each secret key on the machine that uses it).
    @discardableResult
    public static func create(at path: String, parties: [(name: String, role: String)]) throws -> KeyDirectory {
        let directory = KeyDirectory(path: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var lines = ["# name role public-key (written by fedpulse for this run)"]
        for party in parties {
            let pair = try CurveKeyPair.generate()
            try directory.write(pair, name: party.name)
            lines.append("\(party.name) \(party.role) \(pair.publicKey)")
        }
        let text = lines.joined(separator: "\n") + "\n"
        _ = try Enrolment(parsing: text, source: directory.enrolmentPath)
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory.enrolmentPath), options: .atomic)
        return directory
    }

    /// Writes `NAME.key` (owner-only) and `NAME.pub`.
    public func write(_ pair: CurveKeyPair, name: String) throws {
        let secret = URL(fileURLWithPath: secretKeyPath(of: name))
        _ = FileManager.default.createFile(atPath: secret.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data((pair.secretKey + "\n").utf8).write(to: secret)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
        let publicURL = URL(fileURLWithPath: (path as NSString).appendingPathComponent("\(name).pub"))
        try Data((pair.publicKey + "\n").utf8).write(to: publicURL, options: .atomic)
    }

    /// Reads the key pair of `name` (an edge's virtual devices each have their own).
    public func keyPair(of name: String) throws -> CurveKeyPair {
        try Self.readKeyPair(file: secretKeyPath(of: name))
    }

    /// Reads a secret key file and derives its public key.
    public static func readKeyPair(file: String) throws -> CurveKeyPair {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw EnrolmentError("cannot read the CURVE secret key file \(file)")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard secret.utf8.count == 40, let publicKey = try? CurveKeyPair.publicKey(forSecret: secret) else {
            throw EnrolmentError("\(file) does not hold a 40-character Z85 CURVE secret key")
        }
        return CurveKeyPair(publicKey: publicKey, secretKey: secret)
    }
}
