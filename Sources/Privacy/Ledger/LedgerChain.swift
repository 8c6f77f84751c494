import Foundation

/// Why a ledger could not be written, read or trusted.
public struct LedgerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An open set of error codes.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// An entry could not be encoded.
        public static let encoding = Code(rawValue: "encoding")
        /// A line is not a ledger entry.
        public static let unparseable = Code(rawValue: "unparseable")
        /// `verify(lines:)` found a problem; see `problem`.
        public static let tampered = Code(rawValue: "tampered")
        /// The entries do not describe a run the auditor can rebuild (no header, say).
        public static let inconsistent = Code(rawValue: "inconsistent")
    }

    public var code: Code
    public var detail: String
    public var problem: LedgerProblem?

    public var description: String { "ledger \(code.rawValue): \(detail)" }
}

/// The first thing wrong with a ledger, and where.
public struct LedgerProblem: Hashable, Sendable {
    /// What went wrong; the raw value names it in logs and CLI output.
    public enum Reason: String, Hashable, Sendable, CaseIterable {
        /// The line's content does not match its own digest.
        case edited
        /// An entry is missing before this one (its sequence skips and the hash link is broken).
        case dropped
        /// This entry is out of order (its sequence number belongs elsewhere in the file).
        case reordered
        /// The last line is incomplete (a crash mid-write, or a cut file).
        case truncated
        /// A line before the last is not a ledger entry.
        case unparseable
        /// The previous-hash field does not match the previous line.
        case brokenLink
        /// The sequence skips a number although the hash link holds (a writer bug).
        case sequenceGap
        /// The entry carries no signature although a public key was given to check it.
        case unsigned
        /// The signature is not the given key's over the entry's digest: written or re-chained by
        /// someone without the auditor's private key.
        case badSignature
    }

    /// 0-based index of the first bad line.
    public var index: Int
    public var reason: Reason
}

/// The outcome of verifying a ledger.
public struct LedgerVerification: Hashable, Sendable {
    /// How many lines were checked.
    public var entryCount: Int
    /// SHA-256 of the last good line (what a reader should compare with the live PUB stream).
    public var headHash: String
    /// The first problem, nil when the whole ledger verifies.
    public var firstProblem: LedgerProblem?
    /// Whether every line verified.
    public var isValid: Bool { firstProblem == nil }
}

/// The pure half of the append-only ledger: sequence numbers, digests and hash links.
///
/// Why separate from the file: the runtime appends the returned line, fsyncs and publishes it;
/// this type decides what the bytes are, so tests check the chain without a disk.
public struct LedgerChain: Hashable, Sendable {
    /// The previous-hash of the first entry.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The sequence number the next entry gets.
    public private(set) var nextSequence: Int
    /// SHA-256 of the last line appended (the genesis hash when empty).
    public private(set) var headHash: String

    /// A new, empty ledger.
    public init() {
        nextSequence = 0
        headHash = Self.genesisHash
    }

    /// A chain positioned anywhere; for tests that forge ledgers.
    init(nextSequence: Int, headHash: String) {
        self.nextSequence = nextSequence
        self.headHash = headHash
    }

    /// Continues after `lastLine`, the last line of an existing (verified) ledger.
    public init(resumingAfter lastLine: String) throws(LedgerError) {
        let entry = try Self.decode(lastLine)
        nextSequence = entry.sequence + 1
        headHash = Hex.sha256(lastLine.utf8)
    }

    /// Fills in sequence, previous hash, digest and (with a key) signature, advances the chain,
    /// and returns the line to append (without the newline).
    ///
    /// The digest is the SHA-256 of the canonical line with `digest` and `signature` empty; the
    /// signature is Ed25519 over that digest's 32 bytes; the next entry links to the SHA-256 of
    /// the whole line, signature included.
    public mutating func append(
        _ entry: LedgerEntry,
        signedWith key: LedgerSigningKey? = nil
    ) throws(LedgerError) -> String {
        var entry = entry
        entry.sequence = nextSequence
        entry.previousHash = headHash
        entry.digest = ""
        entry.signature = key == nil ? nil : ""
        let unsigned: String
        do {
            let data = try CanonicalJSON.encoder().encode(entry)
            unsigned = String(decoding: data, as: UTF8.self)
        } catch {
            throw LedgerError(code: .encoding, detail: "\(error)")
        }
        let digestBytes = Hex.sha256Bytes(unsigned.utf8)
        guard let range = unsigned.range(of: Self.emptyField("digest")) else {
            throw LedgerError(code: .encoding, detail: "digest field missing from encoding")
        }
        var line = unsigned.replacingCharacters(in: range, with: Self.field("digest", Hex.encode(digestBytes)))
        if let key {
            guard let signature = key.signature(ofDigest: digestBytes),
                let slot = line.range(of: Self.emptyField("signature"))
            else {
                throw LedgerError(code: .encoding, detail: "the entry could not be signed")
            }
            line.replaceSubrange(slot, with: Self.field("signature", signature))
        }
        nextSequence += 1
        headHash = Hex.sha256(line.utf8)
        return line
    }

    /// Parses one line.
    public static func decode(_ line: String) throws(LedgerError) -> LedgerEntry {
        do {
            return try CanonicalJSON.decoder().decode(LedgerEntry.self, from: Data(line.utf8))
        } catch {
            throw LedgerError(code: .unparseable, detail: "\(error)")
        }
    }

    /// Splits a ledger file into lines; a final newline does not make an extra empty line.
    public static func lines(fromFileContents contents: String) -> [String] {
        var lines = contents.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Checks every line and returns the first problem (index and reason), or success.
    ///
    /// Detects an edited line (its digest), a dropped, reordered or duplicated entry (sequence
    /// numbers and hash links), and a truncated last line. Dropping whole lines from the end
    /// leaves a valid shorter ledger: compare `headHash` and `entryCount` with the live stream.
    ///
    /// Without `publicKey` only the chain is checked, which a forger who re-computes every digest
    /// and link after an edit passes; with it, every entry must carry that key's signature over
    /// its digest, which only the auditor can make.
    public static func verify(lines: [String], publicKey: LedgerPublicKey? = nil) -> LedgerVerification {
        var previousHash = genesisHash
        let sequences: [Int?] = lines.map { try? decode($0).sequence }
        for (index, line) in lines.enumerated() {
            let problem = { (reason: LedgerProblem.Reason) in
                LedgerVerification(
                    entryCount: lines.count,
                    headHash: previousHash,
                    firstProblem: LedgerProblem(index: index, reason: reason)
                )
            }
            guard let entry = try? decode(line) else {
                return problem(index == lines.count - 1 ? .truncated : .unparseable)
            }
            guard let digest = Self.digest(of: line, entry: entry), Hex.encode(digest) == entry.digest else {
                return problem(.edited)
            }
            if entry.sequence > index {
                if sequences[(index + 1)...].contains(index) { return problem(.reordered) }
                return problem(entry.previousHash == previousHash ? .sequenceGap : .dropped)
            }
            if entry.sequence < index { return problem(.reordered) }
            guard entry.previousHash == previousHash else { return problem(.brokenLink) }
            if let publicKey {
                guard let signature = entry.signature else { return problem(.unsigned) }
                guard publicKey.isValidSignature(signature, ofDigest: digest) else { return problem(.badSignature) }
            }
            previousHash = Hex.sha256(line.utf8)
        }
        return LedgerVerification(entryCount: lines.count, headHash: previousHash, firstProblem: nil)
    }

    /// The SHA-256 of `line` with its digest and signature fields emptied; nil when the line does
    /// not hold them as `entry` says.
    private static func digest(of line: String, entry: LedgerEntry) -> [UInt8]? {
        guard let range = line.range(of: field("digest", entry.digest)) else { return nil }
        var unsigned = line.replacingCharacters(in: range, with: emptyField("digest"))
        if let signature = entry.signature {
            guard let slot = unsigned.range(of: field("signature", signature)) else { return nil }
            unsigned.replaceSubrange(slot, with: emptyField("signature"))
        }
        return Hex.sha256Bytes(unsigned.utf8)
    }

    private static func emptyField(_ name: String) -> String { field(name, "") }
    private static func field(_ name: String, _ value: String) -> String { #""\#(name)":"\#(value)""# }
}
