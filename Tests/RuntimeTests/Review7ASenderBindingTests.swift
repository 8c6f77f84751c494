import Foundation
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import Testing
import Wire
import ZeroMQ

@testable import Runtime

/// Enrolled keys that are not devices (the read-only `observer` that `audit tail` uses, a shard,
/// the global aggregator) sending a device's messages in their own names, over real CURVE
/// sockets: the check-in that would put them in the population, the update that would reach the
/// sum. The name matches the key, so only the key's role can tell them apart from a device.
@Suite(.timeLimit(.minutes(1)))
struct Review7ASenderBindingTests {
    enum Name: Hashable, Sendable { case inbox }

    static func checkin(_ id: String, _ deviceClass: DeviceClassName) throws -> [[UInt8]] {
        try WireCodec().encode(
            Checkin(
                workerId: id,
                deviceClass: deviceClass,
                eligibility: Eligibility(consent: true, charging: true, unmetered: true, batteryPercent: 90),
                trainExamples: 10,
                holdoutExamples: 1
            ),
            sender: id
        )
    }

    static func update(_ id: String, _ deviceClass: DeviceClassName) throws -> [[UInt8]] {
        try WireCodec().encode(
            Update(
                roundId: 1,
                modelVersion: 0,
                workerId: id,
                deviceClass: deviceClass,
                shard: 0,
                weight: 1,
                norm: 0,
                clipped: false
            ),
            sender: id,
            tensors: [.f32le(name: "delta", [0.5, 0.5])]
        )
    }

    @Test(arguments: [
        (claim: "observer", role: "observer"), (claim: "region-watch-0", role: "shard:watch"),
        (claim: "global", role: "global"),
    ])
    func aKeyThatIsNoDeviceCannotCheckInOrSendAnUpdateInItsOwnName(claim: String, role: String) async throws {
        let metrics = TestMetrics()
        let serverKeys = try CurveKeyPair.generate()
        let attacker = try CurveKeyPair.generate()
        let device = try CurveKeyPair.generate()
        let endpoint = Mutex<String?>(nil)
        let delivered = Mutex<[PeerIdentity]>([])
        let runner = try RoleRunner()
        let ready = AsyncStream<Void>.makeStream()
        let done = AsyncStream<Void>.makeStream()
        let context = try Context()
        let zap = ZAPHandler(
            context: context,
            allowlist: CurveAllowlist(
                names: [attacker.publicKey: claim, device.publicKey: "watch-3"],
                roles: [attacker.publicKey: role, device.publicKey: "device:watch"]
            )
        )
        try zap.start()
        defer { zap.stop() }
        runner.start(name: "review7a-binding") { control in
            try withMetricsFactory(metrics) {
                let loop = RoleLoop<Name>(
                    control: control,
                    messenger: Messenger(role: "test", sender: "test", logger: Logger(label: "test"))
                )
                let pull = try Socket(context, type: .pull)
                try pull.setLinger(0)
                try pull.makeCurveServer(secretKey: serverKeys.secretKey)
                try pull.setZAPDomain("fedpulse")
                endpoint.withLock { $0 = try? pull.bindResolved("tcp://127.0.0.1:*") }
                loop.add(.inbox, pull)
                ready.continuation.yield()
                try loop.run(
                    nextTimer: { Clock.nowMillis() + 50 },
                    received: { _, incoming in
                        let count = delivered.withLock { seen in
                            seen.append(incoming.identity ?? PeerIdentity(claimed: "(refused)"))
                            return seen.count
                        }
                        if count == 5 { done.continuation.yield() }
                    },
                    timer: { _ in }
                )
            }
        }
        for await _ in ready.stream { break }
        let target = try #require(endpoint.withLock { $0 })
        let rogue = try Socket(context, type: .push)
        try rogue.setLinger(1_000)
        try rogue.makeCurveClient(serverPublicKey: serverKeys.publicKey, keys: attacker)
        try rogue.connect(target)
        try rogue.send(try Self.checkin(claim, .watch))
        try rogue.send(try Self.checkin(claim, .phone))
        try rogue.send(try Self.update(claim, .watch))
        let honest = try Socket(context, type: .push)
        try honest.setLinger(1_000)
        try honest.makeCurveClient(serverPublicKey: serverKeys.publicKey, keys: device)
        try honest.connect(target)
        try honest.send(try Self.checkin("watch-3", .watch))
        try honest.send(try Self.update("watch-3", .watch))
        for await _ in done.stream { break }
        runner.requestStop()
        try await runner.waitUntilFinished()
        let proven = delivered.withLock { $0 }.filter(\.isAuthenticated)
        #expect(proven.map(\.name) == ["watch-3", "watch-3"], "only the device's own messages reach the role")
        let refused = try metrics.expectCounter(
            "fedpulse_rejected_total",
            [("role", "test"), ("reason", "unauthorizedSender")]
        )
        #expect(refused.values.reduce(0, +) == 3)
    }
}
