import Foundation
import Synchronization
import Testing
import ZeroMQ

/// The ZAP allowlist against peers that hold no enrolled key: each test plays that peer.
@Suite(.timeLimit(.minutes(1)))
struct ZAPTests {
    let context: Context
    let server: CurveKeyPair
    let enrolled: CurveKeyPair
    let decisions = Decisions()

    final class Decisions: Sendable {
        private let seen = Mutex<[ZAPDecision]>([])
        func record(_ decision: ZAPDecision) { seen.withLock { $0.append(decision) } }
        var all: [ZAPDecision] { seen.withLock { $0 } }
    }

    init() throws {
        context = try Context()
        server = try CurveKeyPair.generate()
        enrolled = try CurveKeyPair.generate()
    }

    func startHandler(_ names: [String: String]) throws -> ZAPHandler {
        let decisions = self.decisions
        let handler = ZAPHandler(context: context, allowlist: CurveAllowlist(names: names)) { decisions.record($0) }
        try handler.start()
        return handler
    }

    func curvePull() throws -> Socket {
        let pull = try Socket(context, type: .pull)
        try pull.setLinger(0)
        try pull.makeCurveServer(secretKey: server.secretKey)
        try pull.bind("tcp://127.0.0.1:*")
        return pull
    }

    func push(to endpoint: String, keys: CurveKeyPair?, serverKey: String? = nil) throws -> Socket {
        let push = try Socket(context, type: .push)
        try push.setLinger(0)
        if let keys { try push.makeCurveClient(serverPublicKey: serverKey ?? server.publicKey, keys: keys) }
        try push.connect(endpoint)
        return push
    }

    /// Receives with a poll, so a missing message fails the test rather than hanging it.
    func receive(_ socket: borrowing Socket, within seconds: Int = 5) throws -> (frames: [[UInt8]], userId: String?)? {
        var items = [socket.pollItem()]
        guard try poll(&items, timeout: .seconds(seconds)) > 0, items[0].isReadable else { return nil }
        return try socket.receiveWithUserId(dontWait: true)
    }

    @Test func anEnrolledKeysMessagesCarryItsEnrolledNameAsUserId() throws {
        let handler = try startHandler([enrolled.publicKey: "watch-3"])
        defer { handler.stop() }
        let pull = try curvePull()
        let endpoint = try pull.lastEndpoint()
        let client = try push(to: endpoint, keys: enrolled)
        try client.send([Array("hello".utf8)])
        let received = try #require(try receive(pull))
        #expect(received.frames == [Array("hello".utf8)])
        #expect(received.userId == "watch-3")
    }

    /// A stranger that knows the server's public key (all libzmq asks without a handler) is
    /// refused at the handshake: nothing it sends arrives, and the refusal is reported.
    @Test func anUnknownKeyIsRefusedAndNothingItSendsArrives() throws {
        let handler = try startHandler([enrolled.publicKey: "watch-3"])
        defer { handler.stop() }
        let pull = try curvePull()
        let endpoint = try pull.lastEndpoint()
        let stranger = try CurveKeyPair.generate()
        let rogue = try push(to: endpoint, keys: stranger)
        try rogue.send([Array("forged".utf8)], dontWait: true)
        try waitFor { decisions.all.contains { $0.publicKey == stranger.publicKey && !$0.isAccepted } }
        let honest = try push(to: endpoint, keys: enrolled)
        try honest.send([Array("marker".utf8)])
        let first = try #require(try receive(pull))
        #expect(first.frames == [Array("marker".utf8)], "the first message to arrive is the enrolled one's")
        #expect(try receive(pull, within: 0) == nil)
    }

    /// Why the handler exists, measured on this libzmq: without one, any key that knows the
    /// server's public key is admitted (and arrives without a User-Id).
    @Test func withoutAHandlerAnyKeyIsAdmitted() throws {
        let pull = try curvePull()
        let stranger = try push(to: try pull.lastEndpoint(), keys: try CurveKeyPair.generate())
        try stranger.send([Array("admitted".utf8)])
        let received = try #require(try receive(pull))
        #expect(received.frames == [Array("admitted".utf8)] && received.userId == nil)
    }

    /// A client with no CURVE at all cannot even start the handshake with a CURVE server.
    @Test func aClientWithoutCurveIsRefused() throws {
        let handler = try startHandler([enrolled.publicKey: "watch-3"])
        defer { handler.stop() }
        let pull = try curvePull()
        let endpoint = try pull.lastEndpoint()
        let plain = try push(to: endpoint, keys: nil)
        try plain.send([Array("plain".utf8)], dontWait: true)
        let honest = try push(to: endpoint, keys: enrolled)
        try honest.send([Array("marker".utf8)])
        #expect(try receive(pull)?.frames == [Array("marker".utf8)])
        #expect(try receive(pull, within: 0) == nil)
    }

    /// Removing a key takes effect without a restart: its next connection is refused.
    @Test func aRevokedKeyIsRefusedAfterTheAllowlistIsReplaced() throws {
        let other = try CurveKeyPair.generate()
        let handler = try startHandler([enrolled.publicKey: "watch-3", other.publicKey: "watch-4"])
        defer { handler.stop() }
        let pull = try curvePull()
        let endpoint = try pull.lastEndpoint()
        let before = try push(to: endpoint, keys: enrolled)
        try before.send([Array("before".utf8)])
        #expect(try receive(pull)?.userId == "watch-3")

        handler.update(CurveAllowlist(names: [other.publicKey: "watch-4"]))
        let after = try push(to: endpoint, keys: enrolled)
        try after.send([Array("after revocation".utf8)], dontWait: true)
        try waitFor { decisions.all.contains { $0.publicKey == enrolled.publicKey && !$0.isAccepted } }
        let honest = try push(to: endpoint, keys: other)
        try honest.send([Array("marker".utf8)])
        #expect(try receive(pull)?.frames == [Array("marker".utf8)])
        #expect(try receive(pull, within: 0) == nil)
    }

    /// A passive reader of a CURVE PUB without the server's key, or without an enrolled key,
    /// gets nothing usable while an enrolled subscriber reads the broadcast.
    @Test func aPassiveSubscriberWithoutKeysReadsNothing() throws {
        let handler = try startHandler([enrolled.publicKey: "edge-1"])
        defer { handler.stop() }
        let pub = try Socket(context, type: .pub)
        try pub.setLinger(0)
        try pub.makeCurveServer(secretKey: server.secretKey)
        let endpoint = try pub.bindResolved("tcp://127.0.0.1:*")

        func subscriber(_ keys: CurveKeyPair?, serverKey: String? = nil) throws -> Socket {
            let sub = try Socket(context, type: .sub)
            try sub.setLinger(0)
            if let keys { try sub.makeCurveClient(serverPublicKey: serverKey ?? server.publicKey, keys: keys) }
            try sub.subscribe("")
            try sub.connect(endpoint)
            return sub
        }
        let plain = try subscriber(nil)
        let wrongServerKey = try subscriber(
            try CurveKeyPair.generate(),
            serverKey: try CurveKeyPair.generate().publicKey
        )
        let stranger = try subscriber(try CurveKeyPair.generate())
        let reader = try subscriber(enrolled)
        // PUB drops for readers not yet joined: publish until the enrolled reader hears one.
        var heard: [[UInt8]]?
        for _ in 0..<100 where heard == nil {
            try pub.send([Array("round.open".utf8), Array("secret".utf8)])
            heard = try receive(reader, within: 0.05)?.frames
        }
        #expect(heard == [Array("round.open".utf8), Array("secret".utf8)])
        try pub.send([Array("round.open".utf8), Array("last".utf8)])
        while let frames = try receive(reader, within: 2)?.frames, frames[1] != Array("last".utf8) {}
        #expect(try receive(plain, within: 0) == nil)
        #expect(try receive(wrongServerKey, within: 0) == nil)
        #expect(try receive(stranger, within: 0) == nil)
    }

    /// Polls a condition for up to five seconds (the handshake runs on libzmq's I/O thread).
    func waitFor(_ condition: () -> Bool) throws {
        for _ in 0..<500 {
            if condition() { return }
            var nothing: [PollItem] = []
            _ = try poll(&nothing, timeout: .milliseconds(10))
        }
        Issue.record("condition not met within 5 s")
    }
}

extension ZAPTests {
    func receive(_ socket: borrowing Socket, within seconds: Double) throws -> (frames: [[UInt8]], userId: String?)? {
        var items = [socket.pollItem()]
        guard try poll(&items, timeout: .milliseconds(Int(seconds * 1000))) > 0, items[0].isReadable else { return nil }
        return try socket.receiveWithUserId(dontWait: true)
    }
}
