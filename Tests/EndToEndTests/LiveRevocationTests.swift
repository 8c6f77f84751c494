import FedPulseTestSupport
import Foundation
import Runtime
import Testing

extension EndToEndTests {
    /// libzmq asks the ZAP handler at the handshake only; these tests play a revoked party that
    /// simply keeps its connection open and goes on talking.
    @Suite(.timeLimit(.minutes(2)))
    struct LiveRevocationTests {
        /// `edge-r` stays connected and keeps checking in after its line leaves the enrolment
        /// file. From the coordinator's reload on, each of its messages is refused
        /// `unauthorizedSender` (the loop checks the connection's proven key against the live
        /// allowlist), its devices time out of the cohort, and `edge-k`'s device stays eligible.
        @Test func aRevokedKeyIsSilencedOnItsOpenConnection() async throws {
            let parties: [(name: String, role: String)] = [("edge-r", "edge:watch"), ("edge-k", "edge:watch")]
            let hierarchy = try Hierarchy(name: "live-revoke", secure: true, extraParties: parties)
            try await hierarchy.diagnosing {
                let metricsPort = try FreePorts.pick(1)[0]
                let metrics = PrometheusScraper(port: metricsPort)
                let coordinator = try hierarchy.startCoordinator(
                    rounds: 1,
                    waitForWorkers: 100,
                    roundTimeoutMillis: 10_000,
                    overrides: ["--metrics-port": "\(metricsPort)"]
                )
                try hierarchy.startEdge(
                    name: "edge-r",
                    deviceClass: "watch",
                    devices: 2,
                    firstUser: 0,
                    edgeKey: "edge-r"
                )
                try hierarchy.startEdge(
                    name: "edge-k",
                    deviceClass: "watch",
                    devices: 1,
                    firstUser: 5,
                    edgeKey: "edge-k"
                )
                let watch = ["role": "coordinator", "region": "watch"]
                _ = try await metrics.waitUntil("three devices under two edge keys", within: .seconds(20)) {
                    $0.value("fedpulse_eligible_workers", watch) == 3
                }
                try await hierarchy.revoke("edge-r", reloadedBy: coordinator)
                // edge-r is still running and connected: its check-ins now count as refusals.
                let refused = ["role": "coordinator", "reason": "unauthorizedSender"]
                let after = try await metrics.waitUntil("edge-r refused on its open connection", within: .seconds(30)) {
                    $0.value("fedpulse_rejected_total", refused) >= 2
                        && $0.value("fedpulse_eligible_workers", watch) == 1
                }
                #expect(after.value("fedpulse_eligible_workers", watch) == 1)
                #expect(after.value("fedpulse_handshakes_refused_total") == 0, "no new handshake was needed")
            }
            await hierarchy.shutdown()
        }
    }
}
