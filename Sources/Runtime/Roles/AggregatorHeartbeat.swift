import Wire
import ZeroMQ

/// Announces an aggregator to the coordinator and keeps announcing it: registration and
/// liveness in one message, so a restarted coordinator relearns the topology within a beat.
struct AggregatorHeartbeat {
    var hello: AggregatorHello
    var nextBeat: Int64 = 0

    /// The hello to send now, if a beat is due; advances the schedule.
    mutating func helloIfDue(now: Int64) -> AggregatorHello? {
        guard now >= nextBeat else { return nil }
        let due = hello
        hello.sequence += 1
        nextBeat = now + Int64(hello.intervalMillis)
        return due
    }
}

/// The coordinator's broadcast and control sockets, as every aggregator connects them.
enum CoordinatorLink {
    /// Adds both to `loop`: the SUB (polled, for `round.open` and `run.end`) and the PUSH.
    static func attach<Name>(
        to loop: RoleLoop<Name>,
        _ context: Context,
        security: TransportSecurity,
        broadcast: (name: Name, endpoint: String),
        control: (name: Name, endpoint: String)
    ) throws {
        loop.add(broadcast.name, try subscriber(context, security: security, endpoint: broadcast.endpoint, topics: [.roundOpen, .runEnd]))
        loop.add(control.name, try Self.control(context, security: security, endpoint: control.endpoint), polled: false)
    }

    /// A SUB on the coordinator's broadcast, subscribed to `topics`.
    static func subscriber(_ context: Context, security: TransportSecurity, endpoint: String, topics: [Topic]) throws -> Socket {
        let subscriber = try Socket(context, type: .sub)
        try subscriber.setLinger(0)
        for topic in topics { try subscriber.subscribe(topic.rawValue) }
        try security.secureClient(subscriber, of: "coordinator")
        try subscriber.connect(endpoint)
        return subscriber
    }

    /// A PUSH to the coordinator's control PULL.
    static func control(_ context: Context, security: TransportSecurity, endpoint: String) throws -> Socket {
        let pusher = try Socket(context, type: .push)
        try pusher.setLinger(1_000)
        try security.secureClient(pusher, of: "coordinator")
        try pusher.connect(endpoint)
        return pusher
    }
}

extension Messenger {
    /// Refuses (counts and logs) a well-formed message of a topic that does not belong on
    /// `socket`, and returns the error for the round's own count.
    func refuseForeignTopic(_ message: AnyMessage, on socket: String) -> WireError {
        let error = WireError(code: .topicMismatch, detail: "\(message.topic) does not belong on the \(socket) socket")
        reject(error.code, detail: error.detail, sender: message.sender)
        return error
    }
}
