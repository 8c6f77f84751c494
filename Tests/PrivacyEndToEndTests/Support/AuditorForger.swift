import FedPulseTestSupport
import Foundation
import Wire
import ZeroMQ

/// An outsider with a PUSH socket to the auditor's events PULL: sends whatever header claims it
/// likes, as anyone who can reach the socket can (no transport authentication yet).
///
/// One socket for every message, so the auditor receives them in the order sent: a later honest
/// message whose answer the test waits for proves the earlier forged ones were processed.
struct AuditorForger {
    let endpoint: String
    let codec = WireCodec()

    /// Sends each message, in order, as `sender` claims; waits (bounded) for the connection.
    func send(_ messages: [(sender: String, frames: (WireCodec, String) throws -> [[UInt8]])]) throws {
        let context = try Context()
        let socket = try Socket(context, type: .push)
        try socket.setLinger(2_000)
        try socket.connect(endpoint)
        for message in messages {
            var items = [socket.pollItem(readable: false, writable: true)]
            try poll(&items, timeout: .seconds(10))
            guard items[0].isWritable else {
                throw TimedOut(waitingFor: "a connection to the auditor at \(endpoint)", seen: "")
            }
            guard try socket.send(try message.frames(codec, message.sender), dontWait: true) else {
                throw TimedOut(waitingFor: "room in the PUSH queue to \(endpoint)", seen: "")
            }
        }
    }

    /// One body as `sender` claims to send it.
    static func message<Body: MessageBody>(
        _ body: Body,
        from sender: String
    ) -> (sender: String, frames: (WireCodec, String) throws -> [[UInt8]]) {
        (sender, { codec, sender in try codec.encode(body, sender: sender, sentAtMillis: nil, tensors: []) })
    }
}
