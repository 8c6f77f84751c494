import Foundation
public import ZeroMQ

/// The enrolment file: who may take part, as what, with which CURVE public key.
///
/// One line per party, `name role public-key`; a line starting with `#` is a comment, and so is
/// anything after the key that starts with `#` (Z85 keys may themselves contain `#`):
///
/// ```
/// coordinator     coordinator   <40-character Z85 public key>
/// auditor         auditor       …
/// global          global        …
/// region-watch-0  shard:watch   …
/// watch-3         device:watch  …
/// edge-phone      edge:phone    …
/// ```
///
/// An `edge:<class>` key named `E` is one edge process (or every replica of one scaled edge
/// service): it speaks for the virtual devices it hosts, whose ids are `E/<suffix>`, of its class
/// only, over one set of shared sockets — so 10,000 devices need not hold 10,000 keys and
/// connections, and scaled replicas whose device ids are made at start need no enrolment of
/// their own. `E` may not contain `/`, and no other party's name may start with `E/` (two keys
/// would speak for one device). Removing `E` cuts all of its devices at once; a stolen edge key
/// speaks for every device under `E/` (that is the trade-off against one key per device).
///
/// It holds public keys only, so the same file can go to every process: servers use it as their
/// ZAP allowlist (the name becomes the connection's User-Id), clients look up the public key of
/// the server they connect to by its name (`coordinator`, `auditor`, `global`, the shard's
/// `region-<class>-<shard>`). The name is the id the party sends as `sender` in every header.
public struct Enrolment: Sendable, Equatable {
    /// One enrolled party.
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// `coordinator`, `auditor`, `global`, `shard:<class>`, `device:<class>`, `edge:<class>`
        /// (speaks for hosted devices `<name>/<suffix>`), or `observer` (reads broadcasts and the
        /// ledger feed, e.g. `fedpulse audit tail`; sends nothing that counts).
        public var role: String
        public var publicKey: String
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    /// Parses the file's text; errors name the line.
    public init(parsing text: String, source: String = "enrolment") throws {
        var entries: [Entry] = []
        var names: Set<String> = []
        var keys: Set<String> = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Z85 keys may contain `#`, so a comment is a line starting with `#`, or anything after
            // the third field that starts with `#`.
            var fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if fields.first?.hasPrefix("#") ?? true { continue }
            if fields.count > 3, fields[3].hasPrefix("#") { fields = Array(fields.prefix(3)) }
            let place = "\(source):\(index + 1)"
            guard fields.count == 3 else {
                throw EnrolmentError("\(place): expected `name role public-key`, found \(fields.count) fields")
            }
            let (name, role, key) = (fields[0], fields[1], fields[2])
            guard Self.isValidName(name) else {
                throw EnrolmentError(
                    "\(place): name \(name.debugDescription) is not 1…128 characters of A-Z a-z 0-9 . _ : @ / + -"
                )
            }
            guard Self.isValidRole(role) else {
                throw EnrolmentError(
                    "\(place): role \(role.debugDescription) is not coordinator, auditor, global, observer, shard:<class>, device:<class> or edge:<class>"
                )
            }
            guard key.utf8.count == 40, key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw EnrolmentError("\(place): public key of \(name) is not 40 Z85 characters")
            }
            if role.hasPrefix("edge:"), name.contains("/") {
                throw EnrolmentError(
                    "\(place): edge name \(name) contains `/` (its devices are named \(name)/<suffix>)"
                )
            }
            guard names.insert(name).inserted else { throw EnrolmentError("\(place): \(name) is enrolled twice") }
            guard keys.insert(key).inserted else {
                throw EnrolmentError("\(place): the key of \(name) is enrolled under another name too")
            }
            entries.append(Entry(name: name, role: role, publicKey: key))
        }
        // An edge speaks for every name under `E/`: nobody else may be enrolled there.
        let edges = entries.filter { $0.role.hasPrefix("edge:") }.map(\.name)
        for edge in edges {
            if let clash = entries.first(where: { $0.name.hasPrefix(edge + "/") }) {
                throw EnrolmentError(
                    "\(source): \(clash.name) is enrolled under edge \(edge)'s names (\(edge)/…), which only that edge's key may use"
                )
            }
        }
        self.entries = entries
    }

    /// Reads and parses a file.
    public static func load(path: String) throws -> Enrolment {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw EnrolmentError("cannot read the enrolment file \(path): \(error.localizedDescription)")
        }
        return try Enrolment(parsing: String(decoding: data, as: UTF8.self), source: path)
    }

    /// The public key enrolled under `name`.
    public func publicKey(of name: String) -> String? { entries.first { $0.name == name }?.publicKey }

    /// The role enrolled under `name`.
    public func role(of name: String) -> String? { entries.first { $0.name == name }?.role }

    /// The entry enrolled with `publicKey` (an edge finds its own name from its secret key).
    public func entry(forPublicKey publicKey: String) -> Entry? { entries.first { $0.publicKey == publicKey } }

    /// The ZAP allowlist: every enrolled key, mapped to its name and role.
    public var allowlist: CurveAllowlist {
        CurveAllowlist(
            names: Dictionary(uniqueKeysWithValues: entries.map { ($0.publicKey, $0.name) }),
            roles: Dictionary(uniqueKeysWithValues: entries.map { ($0.publicKey, $0.role) })
        )
    }

    /// Whether `role` is one an enrolment line may carry.
    public func validating(role: String) -> Bool { Self.isValidRole(role) }

    /// Appends `name role key` to the file (creating it), refusing a line that would not parse
    /// back (a second entry for the name or key, a bad name): the file stays valid.
    public static func append(name: String, role: String, publicKey: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let existing = (try? String(contentsOf: url, encoding: .utf8)) ?? "# name role public-key\n"
        let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
        let text = existing + separator + "\(name) \(role) \(publicKey)\n"
        _ = try Enrolment(parsing: text, source: path)
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return (1...128).contains(bytes.count)
            && bytes.allSatisfy { byte in
                switch byte {
                case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2E, 0x5F, 0x3A, 0x40, 0x2F, 0x2B, 0x2D: true
                default: false
                }
            }
    }

    static let classes: Set<String> = ["watch", "phone", "tablet"]

    static func isValidRole(_ role: String) -> Bool {
        if ["coordinator", "auditor", "global", "observer"].contains(role) { return true }
        let parts = role.split(separator: ":", maxSplits: 1).map(String.init)
        return parts.count == 2 && ["shard", "device", "edge"].contains(parts[0]) && classes.contains(parts[1])
    }
}

/// A problem with an enrolment or key file, in words a user can act on.
public struct EnrolmentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
