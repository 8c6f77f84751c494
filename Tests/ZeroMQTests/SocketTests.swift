import Foundation
import Testing
import ZeroMQ

@Suite(.timeLimit(.minutes(1)))
struct SocketTests {
    let context: Context

    init() throws {
        context = try Context()
    }

    /// Receives with a poll so that a lost message fails the test instead of hanging it.
    func receive(_ socket: borrowing Socket, within seconds: Int = 5) throws -> [[UInt8]]? {
        var items = [socket.pollItem()]
        guard try poll(&items, timeout: .seconds(seconds)) > 0, items[0].isReadable else { return nil }
        return try socket.receive(dontWait: true)
    }

    @Test(arguments: ["tcp", "ipc"])
    func pushToPullCarriesEveryFrameInOrder(transport: String) throws {
        let pull = try Socket(context, type: .pull)
        try pull.setLinger(0)
        let bindAddress =
            transport == "tcp"
            ? "tcp://127.0.0.1:*"
            : "ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent("fp-\(UUID().uuidString).ipc").path
        let endpoint = try pull.bindResolved(bindAddress)
        #expect(endpoint.hasPrefix(transport + "://"))
        #expect(!endpoint.hasSuffix("*"))

        let push = try Socket(context, type: .push)
        try push.setLinger(0)
        try push.connect(endpoint)
        let frames: [[UInt8]] = [Array("update".utf8), Array("{}".utf8), [], [UInt8](repeating: 7, count: 100_000)]
        #expect(try push.send(frames))

        let received = try receive(pull)
        #expect(received == frames)
    }

    @Test func subscriberSeesOnlyItsTopics() throws {
        let publisher = try Socket(context, type: .pub)
        try publisher.setLinger(0)
        let endpoint = try publisher.bindResolved("tcp://127.0.0.1:*")
        let subscriber = try Socket(context, type: .sub)
        try subscriber.setLinger(0)
        try subscriber.subscribe("round.")
        try subscriber.connect(endpoint)

        // A subscription reaches the publisher asynchronously: publish until the first message
        // is seen (the "slow joiner"), with a bounded number of attempts rather than a sleep.
        var first: [[UInt8]]?
        for attempt in 0..<200 where first == nil {
            try publisher.send([Array("ledger.entry".utf8), Array("skip \(attempt)".utf8)])
            try publisher.send([Array("round.open".utf8), Array("warm-up".utf8)])
            first = try receive(subscriber, within: 0) ?? receiveAfterShortPoll(subscriber)
        }
        #expect(first?.first == Array("round.open".utf8))

        try publisher.send([Array("ledger.entry".utf8), Array("filtered".utf8)])
        try publisher.send([Array("round.verdict".utf8), Array("kept".utf8)])
        var topics: Set<String> = []
        while let message = try receive(subscriber, within: 1) {
            topics.insert(String(decoding: message[0], as: UTF8.self))
            if message[1] == Array("kept".utf8) { break }
        }
        #expect(topics.contains("round.verdict"))
        #expect(!topics.contains("ledger.entry"))
    }

    private func receiveAfterShortPoll(_ socket: borrowing Socket) throws -> [[UInt8]]? {
        var items = [socket.pollItem()]
        guard try poll(&items, timeout: .milliseconds(20)) > 0 else { return nil }
        return try socket.receive(dontWait: true)
    }

    @Test func pollReturnsNothingWhenTheTimeoutPasses() throws {
        let pull = try Socket(context, type: .pull)
        try pull.setLinger(0)
        _ = try pull.bindResolved("tcp://127.0.0.1:*")
        var items = [pull.pollItem()]
        let clock = ContinuousClock()
        let start = clock.now
        let ready = try poll(&items, timeout: .milliseconds(60))
        let elapsed = clock.now - start
        #expect(ready == 0)
        #expect(!items[0].isReadable)
        #expect(elapsed >= .milliseconds(50))
        #expect(try pull.receive(dontWait: true) == nil)
    }

    @Test func wakeupEndsAPollFromAnotherThread() async throws {
        let wakeup = try Wakeup()
        let clock = ContinuousClock()
        let (stream, continuation) = AsyncStream<Duration>.makeStream()
        let thread = Thread {
            var items = [wakeup.pollItem()]
            let start = clock.now
            let ready = (try? poll(&items, timeout: .seconds(30))) ?? -1
            if ready == 1 && items[0].isReadable { wakeup.drain() }
            continuation.yield(clock.now - start)
            continuation.finish()
        }
        thread.start()
        wakeup.signal()
        var waited: Duration?
        for await duration in stream { waited = duration }
        let measured = try #require(waited)
        #expect(measured < .seconds(10))
    }

    @Test func badEndpointGivesAClearError() throws {
        let push = try Socket(context, type: .push)
        try push.setLinger(0)
        let error = #expect(throws: ZeroMQError.self) { try push.bind("tcp://no-such-interface-xyz:1") }
        #expect(error?.call == "zmq_bind(tcp://no-such-interface-xyz:1)")
        #expect(error?.description.contains("zmq_bind") == true)
        let protocolError = #expect(throws: ZeroMQError.self) { try push.connect("carrier-pigeon://here") }
        #expect(protocolError?.code == EPROTONOSUPPORT)
    }

    @Test func oversizedMessagesNeverReachTheReader() throws {
        let pull = try Socket(context, type: .pull)
        try pull.setLinger(0)
        try pull.setMaxMessageSize(1024)
        let endpoint = try pull.bindResolved("tcp://127.0.0.1:*")
        let oversizedSender = try Socket(context, type: .push)
        try oversizedSender.setLinger(0)
        try oversizedSender.connect(endpoint)
        try oversizedSender.send([[UInt8](repeating: 1, count: 4096)])

        let honestSender = try Socket(context, type: .push)
        try honestSender.setLinger(0)
        try honestSender.connect(endpoint)
        try honestSender.send([Array("small".utf8)])

        let received = try receive(pull)
        #expect(received == [Array("small".utf8)])
        #expect(try receive(pull, within: 0) == nil)
    }

    @Test func curveClientAndServerExchangeMessages() throws {
        #expect(Context.hasCapability("curve"))
        let serverKeys = try CurveKeyPair.generate()
        let clientKeys = try CurveKeyPair.generate()
        #expect(serverKeys.publicKey.count == 40)
        #expect(try CurveKeyPair.publicKey(forSecret: clientKeys.secretKey) == clientKeys.publicKey)

        let pull = try Socket(context, type: .pull)
        try pull.setLinger(0)
        try pull.makeCurveServer(secretKey: serverKeys.secretKey)
        let endpoint = try pull.bindResolved("tcp://127.0.0.1:*")
        let push = try Socket(context, type: .push)
        try push.setLinger(0)
        try push.makeCurveClient(serverPublicKey: serverKeys.publicKey, keys: clientKeys)
        try push.connect(endpoint)
        try push.send([Array("sealed".utf8)])
        #expect(try receive(pull) == [Array("sealed".utf8)])
    }
}
