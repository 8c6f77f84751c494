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
    /// A SUB on the coordinator's broadcast, subscribed to `topics`.
    static func subscriber(_ context: Context, endpoint: String, topics: [Topic]) throws -> Socket {
        let subscriber = try Socket(context, type: .sub)
        try subscriber.setLinger(0)
        for topic in topics { try subscriber.subscribe(topic.rawValue) }
        try subscriber.connect(endpoint)
        return subscriber
    }

    /// A PUSH to the coordinator's control PULL.
    static func control(_ context: Context, endpoint: String) throws -> Socket {
        let pusher = try Socket(context, type: .push)
        try pusher.setLinger(1_000)
        try pusher.connect(endpoint)
        return pusher
    }
}
