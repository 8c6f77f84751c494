import Learning
import Testing
import Wire

@testable import Rounds

/// The edge worker's decisions: who takes part, and what its update may say under DP.
struct EdgeRoundTests {
    static func open(
        selection: CohortSelection,
        rate: Double? = nil,
        members: [String],
        dp: Bool = false
    ) throws -> RoundOpen {
        let spec = try ModelSpec.wearable(task: .sleepQuality, architecture: nil)
        return RoundOpen(
            roundId: 4,
            kind: .train,
            modelVersion: 3,
            modelDigest: String(repeating: "a", count: 64),
            modelSpec: try JSONValue(encoding: spec),
            training: TrainingSettings(epochs: 1, batchSize: 8, learningRate: 0.1, l2: 0, proxMu: 0),
            privacy: dp
                ? PrivacySettings(placement: .central, clipNorm: 1, noiseMultiplier: 1, expectedCohort: 2)
                : PrivacySettings(placement: .off, clipNorm: nil, noiseMultiplier: 0, expectedCohort: 1),
            selection: selection,
            samplingRate: rate,
            shards: [ShardAssignment(region: .watch, shard: 2, endpoint: "tcp://127.0.0.1:7100", members: members)],
            globalEndpoint: "tcp://127.0.0.1:7200",
            deadlineMillis: 10,
            minParticipants: 1,
            samplingSeed: selection == .listed ? 1 : nil
        )
    }

    @Test func aListedMemberTrainsAndOthersOrAnotherClassDoNothing() throws {
        let round = try Self.open(selection: .listed, members: ["watch-1"])
        var generator = SeededGenerator(seed: 1)
        #expect(
            EdgeRound.participation(in: round, workerId: "watch-1", deviceClass: .watch, using: &generator)
                == .selected(round.shards[0])
        )
        #expect(
            EdgeRound.participation(in: round, workerId: "watch-2", deviceClass: .watch, using: &generator)
                == .notInvited
        )
        #expect(
            EdgeRound.participation(in: round, workerId: "watch-1", deviceClass: .phone, using: &generator)
                == .notInvited
        )
    }

    @Test func populationMembersSampleThemselvesAtTheRateAndTheRestDecline() throws {
        let members = (0..<2_000).map { "watch-\($0)" }
        let round = try Self.open(selection: .poisson, rate: 0.25, members: members, dp: true)
        var generator = SeededGenerator(seed: 5)
        var selected = 0
        for id in members {
            switch EdgeRound.participation(in: round, workerId: id, deviceClass: .watch, using: &generator) {
            case .selected: selected += 1
            case .declined(let decline, let endpoint):
                #expect(decline.isDecline && decline.workerId == id && decline.shard == 2 && decline.roundId == 4)
                #expect(endpoint == "tcp://127.0.0.1:7100")
            case .notInvited, .refused: Issue.record("\(id) is a member")
            }
        }
        #expect((400...600).contains(selected), "about q · population sample themselves: \(selected)")
    }

    /// A coordinator (or a forger of round.open) asking for Skellam noise without secure
    /// aggregation: the device's barely noised update would travel in the clear, so it refuses.
    @Test func skellamWithoutSecureAggregationIsRefusedByTheDevice() throws {
        var round = try Self.open(selection: .listed, members: ["watch-1"])
        round.privacy = PrivacySettings(placement: .skellam, clipNorm: 1, noiseMultiplier: 0, expectedCohort: 1)
        var generator = SeededGenerator(seed: 1)
        let participation = EdgeRound.participation(
            in: round,
            workerId: "watch-1",
            deviceClass: .watch,
            using: &generator
        )
        guard case .refused(let why) = participation else {
            Issue.record("expected a refusal, got \(participation)")
            return
        }
        #expect(why.contains("secure aggregation"))
    }

    @Test func underDPTheUpdateSaysNothingAboutTheDevice() throws {
        let outcome = EdgeRound.Outcome(
            examples: 57,
            preClipNorm: 3.5,
            clipped: true,
            evaluation: MetricsSummary(examples: 9, loss: 0.4, accuracy: 0.8)
        )
        let round = try Self.open(selection: .poisson, rate: 0.5, members: ["watch-1"], dp: true)
        let update = EdgeRound.update(round: round, assignment: round.shards[0], workerId: "watch-1", outcome: outcome)
        #expect(update.weight == 1 && update.norm == 0 && !update.clipped && update.metrics == nil)
        let plain = try Self.open(selection: .listed, members: ["watch-1"])
        let open = EdgeRound.update(round: plain, assignment: plain.shards[0], workerId: "watch-1", outcome: outcome)
        #expect(open.weight == 57 && open.norm == 3.5 && open.clipped && open.metrics?.accuracy == 0.8)
    }

    @Test func divergedTrainingIsNamed() {
        #expect(EdgeRound.divergence(localWeights: [1, .nan], deltaNorm: 1) != nil)
        #expect(EdgeRound.divergence(localWeights: [1, .infinity], deltaNorm: 1) != nil)
        #expect(EdgeRound.divergence(localWeights: [1, 2], deltaNorm: .infinity) != nil)
        #expect(EdgeRound.divergence(localWeights: [1, 2], deltaNorm: 3) == nil)
    }
}
