import Foundation
import Privacy
import Wire
import ZeroMQ

/// Follows an auditor's ledger PUB live and checks that the lines chain as they arrive.
///
/// A follower that joins late sees the chain from wherever it joined; from then on every line
/// must link to the previous one, so an auditor that skipped or rewrote an entry is caught.
public struct AuditTail: Sendable {
    public let endpoint: String
    /// Stop after this many entries (nil: until stopped), so scripts and tests can bound it.
    public let maxEntries: Int?
    /// CURVE as an enrolled observer when the auditor's PUB is secured.
    public let security: TransportSecurity

    public init(endpoint: String, maxEntries: Int?, security: TransportSecurity = .insecure) {
        self.endpoint = endpoint
        self.maxEntries = maxEntries
        self.security = security
    }

    /// Calls `output` with each entry (and a chain problem, if any) until stopped or `maxEntries`.
    public func run(_ control: LoopControl, output: (LedgerRow, String?) -> Void) throws {
        let context = try Context()
        let subscriber = try Socket(context, type: .sub)
        try subscriber.setLinger(0)
        try subscriber.subscribe(Topic.ledgerEntry.rawValue)
        try security.secureClient(subscriber, of: "auditor")
        try subscriber.connect(endpoint)
        let codec = WireCodec()
        var previousHash: String?
        var lastSequence = -1
        var seen = 0
        while !control.shouldStop {
            var items = [control.wakeup.pollItem(), subscriber.pollItem()]
            try poll(&items, timeout: .milliseconds(1_000))
            if items[0].isReadable { control.wakeup.drain() }
            while let frames = try subscriber.receive(dontWait: true) {
                guard case .success(let message) = codec.decode(frames, as: LedgerEntryMessage.self),
                    let entry = try? LedgerChain.decode(message.body.line)
                else { continue }
                // The auditor re-publishes a line it was asked about again (a repeated completion);
                // an entry already shown is not a new one.
                guard entry.sequence > lastSequence else { continue }
                lastSequence = entry.sequence
                var problem: String?
                if let previousHash, entry.previousHash != previousHash {
                    problem = "entry \(entry.sequence) does not link to the previous entry"
                }
                // Entries link to the SHA-256 of the previous line's exact bytes, not to its own
                // `digest` field (the hash of the line with that field empty).
                previousHash = Digest.sha256Hex(Array(message.body.line.utf8))
                output(LedgerRow(entry), problem)
                seen += 1
                if let maxEntries, seen >= maxEntries { return }
            }
        }
    }
}
