import Wire
import ZeroMQ

/// Announces an aggregator to the coordinator and keeps announcing it: registration and
/// liveness in one message, so a restarted coordinator relearns the topology within a beat.
struct AggregatorHeartbeat {
    var hello: AggregatorHello
    var nextBeat: Int64 = 0

    mutating func beatIfDue(now: Int64, messenger: Messenger, on socket: borrowing Socket) throws {
        guard now >= nextBeat else { return }
        try messenger.send(hello, on: socket, dontWait: true)
        hello.sequence += 1
        nextBeat = now + Int64(hello.intervalMillis)
    }
}

/// The coordinator's broadcast and control sockets, as every non-coordinator role connects them.
struct CoordinatorLink: ~Copyable {
    let broadcast: Socket
    let control: Socket

    init(context: Context, broadcast broadcastEndpoint: String, control controlEndpoint: String, topics: [Topic]) throws {
        let subscriber = try Socket(context, type: .sub)
        try subscriber.setLinger(0)
        for topic in topics { try subscriber.subscribe(topic.rawValue) }
        try subscriber.connect(broadcastEndpoint)
        let pusher = try Socket(context, type: .push)
        try pusher.setLinger(1_000)
        try pusher.connect(controlEndpoint)
        broadcast = subscriber
        control = pusher
    }
}
