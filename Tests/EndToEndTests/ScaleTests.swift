import FedPulseTestSupport
import Foundation
import Runtime
import Testing
import Wire

extension EndToEndTests {
    /// The shape of the 10,000-device bench (issue 13 §5), small enough for every `make test`:
    /// 600 devices in 3 edge processes with edge keys, CURVE on every socket.
    @Suite(.timeLimit(.minutes(2)))
    struct ScaleTests {
        /// Every device contributes to both rounds under its own id, while each process holds a
        /// handful of connections: the coordinator's fds stay far below one per device (a socket
        /// per device would be 1,200 connections at the coordinator).
        @Test func sixHundredDevicesInThreeEdgeProcessesShareTheirSockets() async throws {
            let edges = [("edge-watch", "watch"), ("edge-phone", "phone"), ("edge-tablet", "tablet")]
            let hierarchy = try Hierarchy(
                name: "scale",
                secure: true,
                extraParties: edges.map { ($0.0, "edge:\($0.1)") }
            )
            let observer = try await hierarchy.observer()
            defer { Task { await observer.stop() } }
            try await hierarchy.diagnosing {
                try hierarchy.startGlobal()
                var edgeProcesses: [ChildProcesses.Child] = []
                for (index, (name, deviceClass)) in edges.enumerated() {
                    try hierarchy.startShard(region: deviceClass)
                    edgeProcesses.append(
                        try hierarchy.startEdge(
                            name: name,
                            deviceClass: deviceClass,
                            devices: 200,
                            firstUser: index * 200,
                            edgeKey: name,
                            overrides: ["--checkin-ms": "2000"]
                        )
                    )
                }
                let coordinator = try hierarchy.startCoordinator(
                    rounds: 2,
                    waitForWorkers: 600,
                    roundTimeoutMillis: 30_000,
                    overrides: ["--worker-timeout-ms": "10000"]
                )
                let (first, mark) = try await observer.roundSummary(within: .seconds(60), "round 1 of 600 devices")
                #expect(first.contributors == 600)
                #expect(first.participants == ParticipantCounts(watch: 200, phone: 200, tablet: 200))
                let fds = Self.openFileDescriptors(of: coordinator.pid)
                let edgeFds = edgeProcesses.map { Self.openFileDescriptors(of: $0.pid) }
                let (second, _) = try await observer.roundSummary(after: mark, within: .seconds(40), "round 2") {
                    $0.roundId > first.roundId
                }
                #expect(second.contributors == 600)
                #expect(fds > 0 && fds < 100, "the coordinator holds \(fds) fds for 600 devices")
                #expect(edgeFds.allSatisfy { $0 > 0 && $0 < 60 }, "edge fds \(edgeFds)")
            }
            await hierarchy.shutdown()
        }

        static func openFileDescriptors(of pid: Int32) -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        }
    }
}
