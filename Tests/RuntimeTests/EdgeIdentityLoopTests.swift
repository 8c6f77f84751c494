import Foundation
import Logging
import Metrics
import MetricsTestKit
import Synchronization
import Testing
import Wire
import ZeroMQ

@testable import Runtime

/// The rule "who may say this" for edge keys, pure: every row is a claim under some key.
struct SenderBindingTests {
    @Test(arguments: [
        // (claim, key name, key role, message class, expected: nil = accepted, else the reason)
        ("edge-w/watch-1", "edge-w", "edge:watch", DeviceClassName.watch, RejectReason?.none),
        ("edge-w/a/b", "edge-w", "edge:watch", nil, nil),
        ("edge-w", "edge-w", "edge:watch", nil, nil),
        ("edge-w/", "edge-w", "edge:watch", nil, .senderMismatch),
        ("edge-wx/1", "edge-w", "edge:watch", nil, .senderMismatch),
        ("edge-v/1", "edge-w", "edge:watch", .watch, .senderMismatch),
        ("watch-3", "edge-w", "edge:watch", .watch, .senderMismatch),
        ("edge-w/phone-1", "edge-w", "edge:watch", .phone, .wrongDeviceClass),
        ("edge-w/1", "watch-3", "device:watch", .watch, .senderMismatch),
        ("watch-3/1", "watch-3", "device:watch", .watch, .senderMismatch),
        ("watch-3", "watch-3", "device:watch", .phone, .wrongDeviceClass),
        ("watch-3", "watch-3", "device:watch", .watch, nil),
        ("region-watch-0/1", "region-watch-0", "shard:watch", nil, .senderMismatch),
        ("coordinator", "coordinator", "coordinator", nil, nil),
    ])
    func aClaimIsCoveredOnlyByItsOwnKeyOrItsEdge(
        claim: String,
        key: String,
        role: String,
        deviceClass: DeviceClassName?,
        expected: RejectReason?
    ) {
        let result = SenderBinding.identity(claimed: claim, userId: key, peerRole: role, deviceClass: deviceClass)
        switch result {
        case .success(let identity):
            #expect(expected == nil)
            #expect(identity == PeerIdentity(claimed: claim, authenticated: claim) && identity.isAuthenticated)
        case .failure(let error):
            #expect(error.code == expected)
        }
    }

    @Test func withoutTransportAuthenticationTheClaimStandsUnproven() throws {
        let identity = try SenderBinding.identity(
            claimed: "x/1",
            userId: nil,
            peerRole: "edge:watch",
            deviceClass: .phone
        )
        .get()
        #expect(identity == PeerIdentity(claimed: "x/1") && !identity.isAuthenticated)
    }

    @Test(arguments: [
        ("e/x edge:watch \(String(repeating: "a", count: 40))\n", "contains `/`"),
        (
            "e edge:watch \(String(repeating: "a", count: 40))\ne/1 device:watch \(String(repeating: "b", count: 40))\n",
            "only that edge's key"
        ),
        ("e edge:car \(String(repeating: "a", count: 40))\n", "edge:<class>"),
    ])
    func anEdgeThatCouldShareANameIsRefused(text: String, message: String) {
        #expect {
            try Enrolment(parsing: text, source: "enrolment.txt")
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}

/// The central check with real CURVE sockets: the loop learns the key's role from the ZAP
/// handler, never from what the client announces.
@Suite(.timeLimit(.minutes(1)))
struct EdgeIdentityLoopTests {
    @Test func anEdgeKeySpeaksForItsDevicesOfItsClassAndNobodyElse() async throws {
        let metrics = TestMetrics()
        let edge = try CurveKeyPair.generate()
        let watch3 = try CurveKeyPair.generate()
        let allowlist = CurveAllowlist(
            names: [edge.publicKey: "edge-w", watch3.publicKey: "watch-3"],
            roles: [edge.publicKey: "edge:watch", watch3.publicKey: "device:watch"]
        )
        let inbox = try await CurveInbox.start(allowlist: allowlist, metrics: metrics)
        func checkin(_ id: String, _ deviceClass: DeviceClassName) throws -> [[UInt8]] {
            try WireCodec().encode(
                Checkin(
                    workerId: id,
                    deviceClass: deviceClass,
                    eligibility: Eligibility(consent: true, charging: true, unmetered: true, batteryPercent: 90),
                    trainExamples: 1,
                    holdoutExamples: 1
                ),
                sender: id
            )
        }
        let edgePush = try inbox.client(edge)
        try edgePush.send(try checkin("edge-w/watch-1", .watch))
        try edgePush.send(try checkin("edge-w/phone-1", .phone))
        try edgePush.send(try checkin("edge-v/watch-1", .watch))
        try edgePush.send(try checkin("watch-3", .watch))
        // A device key that announces itself as an edge in its own handshake metadata.
        let posing = try Socket(inbox.context, type: .push)
        try posing.setLinger(1_000)
        try posing.addHandshakeMetadata("\(ZAPHandler.roleProperty):edge:watch")
        try posing.makeCurveClient(serverPublicKey: inbox.serverKeys.publicKey, keys: watch3)
        try posing.connect(inbox.endpoint)
        try posing.send(try checkin("watch-3/1", .watch))
        try posing.send(try checkin("edge-w/watch-1", .watch))
        try posing.send(try checkin("watch-3", .watch))
        // Refused messages reach the role too (as failures), so all seven are counted.
        let proven = try await inbox.identities(after: 7).filter(\.isAuthenticated)
        #expect(
            proven.sorted { $0.claimed < $1.claimed }
                == [
                    PeerIdentity(claimed: "edge-w/watch-1", authenticated: "edge-w/watch-1"),
                    PeerIdentity(claimed: "watch-3", authenticated: "watch-3"),
                ]
        )
        let mismatch = try metrics.expectCounter(
            "fedpulse_rejected_total",
            [("role", "test"), ("reason", "senderMismatch")]
        )
        #expect(mismatch.values.reduce(0, +) == 4)
        let wrongClass = try metrics.expectCounter(
            "fedpulse_rejected_total",
            [("role", "test"), ("reason", "wrongDeviceClass")]
        )
        #expect(wrongClass.values == [1])
    }
}
