import FedPulseTestSupport
import Foundation
import Learning
import Logging
import Runtime
import Synchronization
import Testing
import Wire
import ZeroMQ

/// What a coordinator (or anyone who reads its control PULL) learns from check-ins, which every
/// device sends every interval whether or not DP is on: whether the device has data, not how much.
/// An exact example count is data about the user that no ε covers.
@Suite(.timeLimit(.minutes(1)))
struct CheckinCountTests {
    @Test func aCheckinSaysWhetherADeviceHasDataNotHowMuch() async throws {
        let context = try Context()
        let control = try Socket(context, type: .pull)
        try control.setLinger(0)
        let controlEndpoint = try control.bindResolved("tcp://127.0.0.1:*")
        let broadcast = try Socket(context, type: .pub)
        try broadcast.setLinger(0)
        let broadcastEndpoint = try broadcast.bindResolved("tcp://127.0.0.1:*")
        let generator = SyntheticWearables(task: .sleepQuality, seed: 3)
        var config = EdgeConfig(
            devices: (0..<2).map {
                VirtualDevice(
                    id: "watch-\($0)",
                    deviceClass: .watch,
                    data: .synthetic(generator: generator, userIndex: $0)
                )
            },
            spec: try ModelSpec.wearable(task: .sleepQuality)
        )
        config.coordinatorBroadcast = broadcastEndpoint
        config.coordinatorControl = controlEndpoint
        config.checkinIntervalMillis = 100
        let frozen = config
        let runner = try RoleRunner()
        let quiet = Logger(label: "checkin-count", factory: { _ in SwiftLogNoOpLogHandler() })
        runner.start(name: "checkin-count") { loop in try EdgeRole(config: frozen, logger: quiet).run(loop) }
        var seen: [String: Checkin] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        while seen.count < 2, ContinuousClock.now < deadline {
            var items = [control.pollItem()]
            try poll(&items, timeout: .milliseconds(200))
            while let frames = try control.receive(dontWait: true) {
                if case .success(.checkin(let checkin)) = WireCodec().decode(frames) {
                    seen[checkin.body.workerId] = checkin.body
                }
            }
        }
        runner.requestStop()
        try await runner.waitUntilFinished()
        #expect(seen.count == 2, "no check-in from both devices within 30 s")
        for checkin in seen.values {
            // The synthetic users hold hundreds of examples; the check-in says only "some".
            #expect(checkin.trainExamples == 1 && checkin.holdoutExamples <= 1, "\(checkin)")
        }
    }
}
