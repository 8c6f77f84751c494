import Federation
import Learning
import Privacy
import Testing
import Wire

@testable import Rounds

/// `topk` under distributed noise: each device adds its share N(0, z²C²/m) to all d coordinates,
/// then keeps the k largest of its own noised delta. The ledger charges the round as if every
/// coordinate of the sum carried the k − 1 other shares (z·√((k − 1)/m)); in fact a coordinate
/// carries only the shares of the devices that happened to keep it, and where one device's data
/// stands out (a coordinate the others' signal never reaches) that is its own share alone.
@Suite struct Review7BTopKDistributedTests {
    typealias F = ShardFixtures

    static let dimension = 100
    static let devices = 50
    static let workers = (0..<devices).map { "watch-\($0)" }

    static func open() throws -> Message<RoundOpen> {
        var open = F.open(
            privacy: F.privacy(.distributed, noise: 1, cohort: devices),
            shards: [ShardAssignment(region: .watch, shard: 0, endpoint: "tcp://127.0.0.1:7100", members: workers)],
            weights: [Float](repeating: 0, count: dimension)
        )
        open.body.compression = try CompressionChoice.parse("topk:0.1").get().settings(range: F.clipNorm, seed: 11)
        return open
    }

    /// The target's delta is C in coordinate 0; everyone else's is spread over coordinates
    /// 1…10 (a shared gradient well above the noise). Every device clips, adds its distributed
    /// share and encodes top-k exactly as an honest edge does (`UpdateShaping`'s order).
    static func update(_ index: Int, plan: CompressionPlan, rng: inout SeededGenerator) -> Message<Update> {
        var delta = [Float](repeating: 0, count: dimension)
        if index == 0 {
            delta[0] = Float(F.clipNorm)
        } else {
            for coordinate in 1...10 { delta[coordinate] = 0.3 }
        }
        _ = Clipping.clip(&delta, to: F.clipNorm)
        let sigma = F.clipNorm / Double(devices).squareRoot()
        GaussianSampler.addNoise(to: &delta, standardDeviation: sigma, using: &rng)
        var message = F.update(workers[index])
        message.tensors = UpdateEncoder(plan: plan).encode(delta, using: &rng).tensors
        return message
    }

    @Test func aShardDoesNotReleaseATopKSumUnderDistributedNoise() throws {
        let open = try Self.open()
        let settings = try #require(open.body.compression)
        let plan = try CompressionPlan.make(settings, parameterCount: Self.dimension, roundId: F.roundId).get()
        var shard = F.shard()
        var actions = shard.roundOpened(open, now: 0)
        var rng = SeededGenerator(seed: 7)
        var sharesAtTarget = 0
        for index in 0..<Self.devices {
            let update = Self.update(index, plan: plan, rng: &rng)
            if case .success(let dense) = UpdateDecoder(plan: plan).decode(update.tensors), dense[0] != 0 {
                sharesAtTarget += 1
            }
            actions += shard.updateReceived(update, from: .init(claimed: Self.workers[index]), byteCount: 1, now: 1)
        }
        actions += shard.timerFired(now: F.deadline + 1)
        let released = actions.partial.map(\.body.contributors) ?? 0
        #expect(
            released == 0,
            "a top-k sum of \(released) distributed-noise updates was released; its coordinate 0 holds \(sharesAtTarget) of the \(Self.devices) noise shares the ledger charges for"
        )
        #expect(sharesAtTarget < Self.devices / 5, "the setup must isolate the target's coordinate")
    }

    /// `randk` keeps the same public coordinates on every device, so the sum is the projection
    /// of the noised sum: still summed under distributed noise.
    @Test func randKUnderDistributedNoiseIsStillSummed() throws {
        var open = try Self.open()
        open.body.compression = try CompressionChoice.parse("randk:0.1").get().settings(range: F.clipNorm, seed: 11)
        let settings = try #require(open.body.compression)
        let plan = try CompressionPlan.make(settings, parameterCount: Self.dimension, roundId: F.roundId).get()
        var shard = F.shard()
        var actions = shard.roundOpened(open, now: 0)
        var rng = SeededGenerator(seed: 7)
        for index in 0..<Self.devices {
            let update = Self.update(index, plan: plan, rng: &rng)
            actions += shard.updateReceived(update, from: .init(claimed: Self.workers[index]), byteCount: 1, now: 1)
        }
        #expect(actions.partial?.body.contributors == Self.devices)
    }
}
