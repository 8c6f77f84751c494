import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Wire
import ZeroMQ

/// Follows an auditor's ledger PUB (`ledger.entry`, `round.verdict`) on a thread of its own.
///
/// The SUB socket reconnects by itself, so one follower spans an auditor's crash and restart on
/// the same endpoint. Tests wait on what it saw, e.g. the `complete` entry of the last round.
final class LedgerFollower: Sendable {
    enum Event: Sendable {
        case entry(sequence: Int, line: String, decoded: LedgerEntry?)
        case verdict(Wire.RoundVerdict)

        var entry: LedgerEntry? {
            if case .entry(_, _, let decoded) = self { return decoded }
            return nil
        }

        var verdict: Wire.RoundVerdict? {
            if case .verdict(let verdict) = self { return verdict }
            return nil
        }

        var text: String {
            switch self {
            case .entry(let sequence, _, let decoded):
                "ledger.entry #\(sequence) \(decoded.map { "\($0.kind.rawValue) round \($0.round.map(String.init) ?? "-")" } ?? "undecodable")"
            case .verdict(let verdict):
                "round.verdict round \(verdict.roundId) approved=\(verdict.approved) ε=\(verdict.epsilon) \(verdict.reason ?? "")"
            }
        }
    }

    let endpoint: String
    let log = EventLog<Event>(describe: \.text)
    private let runner: RoleRunner

    /// Connects before returning (call it before the auditor publishes anything worth seeing).
    init(endpoint: String) async throws {
        self.endpoint = endpoint
        runner = try RoleRunner()
        let log = self.log
        let connected = EventLog<Bool>(describe: { "\($0)" })
        runner.start(name: "privacy-e2e-ledger-follower") { control in
            defer { connected.append(false) }
            let context = try Context()
            let subscriber = try Socket(context, type: .sub)
            try subscriber.setLinger(0)
            try subscriber.subscribe(Topic.ledgerEntry.rawValue)
            try subscriber.subscribe(Topic.roundVerdict.rawValue)
            try subscriber.connect(endpoint)
            connected.append(true)
            let codec = WireCodec()
            while !control.shouldStop {
                var items = [control.wakeup.pollItem(), subscriber.pollItem()]
                try poll(&items, timeout: .milliseconds(1_000))
                if items[0].isReadable { control.wakeup.drain() }
                while let frames = try subscriber.receive(dontWait: true) {
                    switch codec.decode(frames) {
                    case .success(.ledgerEntry(let message)):
                        let body = message.body
                        log.append(.entry(sequence: body.sequence, line: body.line, decoded: try? LedgerChain.decode(body.line)))
                    case .success(.roundVerdict(let message)):
                        log.append(.verdict(message.body))
                    default:
                        continue
                    }
                }
            }
        }
        let ready = try await connected.first(within: .seconds(10), "the ledger follower's socket") { $0.first }
        guard ready else { throw TimedOut(waitingFor: "the ledger follower's socket (its thread failed)", seen: "") }
    }

    /// Waits for the `complete` entry of `roundId` on the stream.
    @discardableResult
    func completion(of roundId: Int, within timeout: Duration) async throws -> LedgerEntry {
        try await log.first(within: timeout, "the complete entry of round \(roundId)") { events in
            events.lazy.compactMap(\.entry).first { $0.kind == .complete && $0.round == roundId }
        }
    }

    func stop() async {
        runner.requestStop()
        try? await runner.waitUntilFinished()
    }

    deinit { runner.requestStop() }
}
