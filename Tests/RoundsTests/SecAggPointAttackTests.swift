import Learning
import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// After `secagg.neighbours`, shares and unmask requests name devices by Shamir point. A point
/// the announcement did not name is a different story from the one the shard told: the device
/// stops (as it did for an unknown id), and nobody but the assigned shard can make it stop.
@Suite struct SecAggPointAttackTests {
    static let victim = "watch-0"

    /// A six-device round through the real codec, run until the shard's message of `kind`
    /// (`shares` or `unmask`) for the victim, which is held back: the victim is then in the
    /// stage that message would answer, and the held message shows the honest framing.
    static func drive(until kind: String) throws -> (device: SecAggDeviceSession, honest: AnyMessage) {
        var shard = SecAggShardSession(region: .watch, shard: 0)
        var generator = SeededGenerator(seed: 21)
        let open = SecAggSessionTests.open(devices: 6)
        var queue = shard.roundOpened(open, now: 1_000, using: &generator)
        var devices: [String: SecAggDeviceSession] = [:]
        let assignment = try #require(open.body.shards.first)
        for (index, id) in assignment.members.enumerated() {
            let started = try SecAggDeviceSession.start(
                open,
                assignment: assignment,
                deviceId: id,
                delta: SecAggSessionTests.delta(index),
                using: &generator
            ).get()
            devices[id] = started.session
            queue += shard.received(
                try SecAggSessionTests.message(started.first, from: id),
                from: PeerIdentity(claimed: id, authenticated: id),
                byteCount: 1,
                now: 1_500
            )
        }
        let shardId = SecAggSessionTests.shardId
        while !queue.isEmpty {
            guard case .send(let to, let outgoing) = queue.removeFirst(), var device = devices[to] else { continue }
            let message: AnyMessage
            switch outgoing {
            case .neighbours(let framed):
                message = try SecAggSessionTests.wire(framed.body, sender: shardId, tensors: framed.tensors)
            case .shares(let framed):
                message = try SecAggSessionTests.wire(framed.body, sender: shardId, tensors: framed.tensors)
                if to == victim && kind == "shares" { return (device, message) }
            case .unmaskRequest(let framed):
                message = try SecAggSessionTests.wire(framed.body, sender: shardId, tensors: framed.tensors)
                if to == victim && kind == "unmask" { return (device, message) }
            }
            for case .send(let answer) in device.received(message, from: Self.shard(shardId), using: &generator) {
                queue += shard.received(
                    try SecAggSessionTests.message(answer, from: to),
                    from: PeerIdentity(claimed: to, authenticated: to),
                    byteCount: 1,
                    now: 2_000
                )
            }
            devices[to] = device
        }
        throw SecAggRefusal("the round never sent \(kind) to \(victim)")
    }

    static func shard(_ id: String) -> PeerIdentity { PeerIdentity(claimed: id, authenticated: id) }

    /// The honest message with its `points` frame replaced; the codec still accepts it.
    static func repointed(_ honest: AnyMessage, _ points: [UInt32]) throws -> AnyMessage {
        let bytes = points.flatMap { point in withUnsafeBytes(of: point.littleEndian, Array.init) }
        let frame = SecAggRecords.frame("points", bytes)
        switch honest {
        case .secAggShares(let m):
            let tensors = m.tensors.map { $0.name == "points" ? frame : $0 }
            return try SecAggSessionTests.wire(m.body, sender: m.sender, tensors: tensors)
        case .secAggUnmaskRequest(let m):
            return try SecAggSessionTests.wire(m.body, sender: m.sender, tensors: [frame])
        default:
            throw SecAggRefusal("not a message with points: \(honest.topic)")
        }
    }

    static func honestPoints(_ message: AnyMessage) throws -> [UInt32] {
        let tensors: [Tensor]
        switch message {
        case .secAggShares(let m): tensors = m.tensors
        case .secAggUnmaskRequest(let m): tensors = m.tensors
        default: tensors = []
        }
        let bytes = try #require(tensors.first { $0.name == "points" }).bytes
        return stride(from: 0, to: bytes.count, by: 4).map { offset in
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
        }
    }

    @Test(arguments: ["shares", "unmask"])
    func aPointTheAnnouncementDidNotNameEndsTheDevicesRound(_ kind: String) throws {
        let (device, honest) = try Self.drive(until: kind)
        var points = try Self.honestPoints(honest)
        #expect(!points.isEmpty && points.allSatisfy { (1...6).contains($0) })
        // Six members hold points 1…6; 40 names nobody.
        points[0] = 40
        let forged = try Self.repointed(honest, points)
        var generator = SeededGenerator(seed: 5)

        var attacked = device
        let actions = attacked.received(forged, from: Self.shard(SecAggSessionTests.shardId), using: &generator)
        guard case .abort(let detail)? = actions.first, actions.count == 1 else {
            Issue.record("expected one abort, got \(actions)")
            return
        }
        #expect(detail.contains("point 40"))
        #expect(attacked.isOver)

        // Another device sending the same forgery is refused before the points are looked at.
        var spoofed = device
        let refused = spoofed.received(forged, from: Self.shard("watch-3"), using: &generator)
        guard case .reject(.unauthorizedSender, _, _)? = refused.first else {
            Issue.record("expected unauthorizedSender, got \(refused)")
            return
        }
        #expect(!spoofed.isOver)
        // …and the device still answers the honest message afterwards.
        let answers = spoofed.received(honest, from: Self.shard(SecAggSessionTests.shardId), using: &generator)
        let sent = answers.contains { if case .send = $0 { true } else { false } }
        #expect(sent, "\(answers)")
    }

    /// A frame that does not match its header's count is refused, and the round goes on.
    @Test func aPointFrameOfTheWrongLengthIsRefusedNotFatal() throws {
        let (device, honest) = try Self.drive(until: "shares")
        let points = try Self.honestPoints(honest)
        let forged = try Self.repointed(honest, Array(points.dropLast()))
        var generator = SeededGenerator(seed: 6)
        var attacked = device
        let actions = attacked.received(forged, from: Self.shard(SecAggSessionTests.shardId), using: &generator)
        guard case .reject(.malformedHeader, _, _)? = actions.first else {
            Issue.record("expected malformedHeader, got \(actions)")
            return
        }
        #expect(!attacked.isOver)
    }
}

struct SecAggRefusal: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
