import FedPulseTestSupport
import Foundation
import Testing

/// Privacy end to end (issue 5): the auditor, the ledger and the accountants, checked on real
/// `fedpulse` processes talking ZeroMQ over loopback.
///
/// One parent suite, `.serialized`: every nested suite starts a hierarchy of processes, and on the
/// two-core test machine two at once would turn deadlines into flakes. Waits are on observed
/// events (broadcast messages, ledger lines on the auditor's PUB, a process exiting), each bounded.
@Suite(.serialized, .timeLimit(.minutes(3)))
enum PrivacyEndToEndTests {
    /// δ of every run here.
    static let delta = 1e-5
    /// Round timeout: an upper bound only; rounds close early once every member answered.
    static let roundTimeoutMillis = 3_000

    static func binary() throws -> URL { try FedPulseBinary.locate() }

    /// `fedpulse <arguments>` to completion: exit status and output.
    static func fedpulse(_ arguments: [String]) async throws -> ShortCommand.Output {
        try await ShortCommand.run(try binary(), arguments)
    }
}
