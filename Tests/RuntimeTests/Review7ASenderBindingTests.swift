import MetricsTestKit
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
        let attacker = try CurveKeyPair.generate()
        let device = try CurveKeyPair.generate()
        let inbox = try await CurveInbox.start(
            allowlist: CurveAllowlist(
                names: [attacker.publicKey: claim, device.publicKey: "watch-3"],
                roles: [attacker.publicKey: role, device.publicKey: "device:watch"]
            ),
            metrics: metrics
        )
        let rogue = try inbox.client(attacker)
        try rogue.send(try Self.checkin(claim, .watch))
        try rogue.send(try Self.checkin(claim, .phone))
        try rogue.send(try Self.update(claim, .watch))
        let honest = try inbox.client(device)
        try honest.send(try Self.checkin("watch-3", .watch))
        try honest.send(try Self.update("watch-3", .watch))
        let proven = try await inbox.identities(after: 5).filter(\.isAuthenticated)
        #expect(proven.map(\.name) == ["watch-3", "watch-3"], "only the device's own messages reach the role")
        let refused = try metrics.expectCounter(
            "fedpulse_rejected_total",
            [("role", "test"), ("reason", "unauthorizedSender")]
        )
        #expect(refused.values.reduce(0, +) == 3)
    }
}
