import Learning
import Testing
import Wire

@testable import Rounds

/// A global aggregator (its key stolen, or anyone claiming `global` under `--insecure`) sends a
/// model candidate whose tensors are not `f32le`. The coordinator reads those tensors as floats,
/// so a `q8` frame of the right element count is a quarter of the floats it claims to be.
struct Review7ACoordinatorCandidateTests {
    /// The candidate as the coordinator's loop hands it over: encoded and decoded by the codec.
    static func throughTheWire(_ message: Message<ModelCandidate>) throws -> Message<ModelCandidate> {
        let frames = try WireCodec().encode(message)
        return try WireCodec().decode(frames, as: ModelCandidate.self).get()
    }

    static func candidate(
        roundId: Int,
        tensors: [Tensor],
        digest: String
    ) -> Message<ModelCandidate> {
        let body = ModelCandidate(
            roundId: roundId,
            modelVersion: 1,
            modelDigest: digest,
            participants: ParticipantCounts(watch: 3),
            contributors: 3,
            weightSum: 3,
            denominator: 3,
            noiseStd: 0,
            shardsReported: ["watch/0"],
            shardsMissing: [],
            clippedCount: 0
        )
        return Message(sender: "global", body: body, tensors: tensors)
    }

    /// `weights` as `q8` (one byte per element, as many elements as the model has parameters):
    /// read as `f32le` it is a quarter of the model, and it became the model.
    @Test func aQ8WeightsFrameOfTheRightElementCountIsRefusedNotTakenAsAQuarterModel() throws {
        var fixture = try CoordinatorFixture()
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(3))
        let open = try #require(opened)
        let count = fixture.spec.parameterCount
        let bytes = [UInt8](repeating: 0, count: count)
        let weights = Tensor.encoded(name: "weights", encoding: .q8, bytes: bytes, elementCount: count)
        let forged = try Self.throughTheWire(
            Self.candidate(roundId: open.body.roundId, tensors: [weights], digest: CoordinatorFixture.digest(bytes))
        )
        let before = fixture.round.progress.weights
        let actions = fixture.round.candidateReceived(forged, from: PeerIdentity(claimed: "global"), now: fixture.now)
        #expect(actions.rejections == [.unsupportedEncoding])
        #expect(fixture.round.progress.completedRounds == 0)
        #expect(fixture.round.progress.weights == before)
        #expect(fixture.round.progress.weights.count == count)
    }

    /// A statistics round's candidate whose `count` tensor is `q8`: the coordinator indexed a
    /// quarter-length array with every feature's index and trapped (the whole coordinator died).
    @Test func aStatisticsCandidateWithAQ8CountFrameIsRefusedAndTheCoordinatorLives() throws {
        var settings = CoordinatorFixture.settings()
        settings.featureStatistics = true
        var fixture = try CoordinatorFixture(settings: settings)
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(3))
        let open = try #require(opened)
        #expect(open.body.kind == .statistics)
        let features = fixture.spec.features.count
        let model = Tensor.f32le(name: "weights", fixture.round.progress.weights)
        let moments: [Tensor] = [
            .f32le(name: "sum", [Float](repeating: 3, count: features)),
            .f32le(name: "sumSquares", [Float](repeating: 9, count: features)),
            .encoded(
                name: "count",
                encoding: .q8,
                bytes: [UInt8](repeating: 0x40, count: features),
                elementCount: features
            ),
        ]
        let forged = try Self.throughTheWire(
            Self.candidate(
                roundId: open.body.roundId,
                tensors: [model] + moments,
                digest: CoordinatorFixture.digest(model.bytes)
            )
        )
        let spec = fixture.round.progress.spec
        let actions = fixture.round.candidateReceived(forged, from: PeerIdentity(claimed: "global"), now: fixture.now)
        #expect(actions.logLines.contains { $0.level == .warning && $0.message.contains("no usable moments") })
        #expect(fixture.round.progress.spec == spec, "the scaling is not replaced by a misread one")
        #expect(!fixture.round.progress.statisticsDone)
    }
}

/// The global aggregator names, among a round's contributors, ids the round never announced.
/// Honest shards take updates only from their announced members, so such an id is a lie the
/// coordinator can check; taken, it counted a round against a device that was not even in it
/// (a victim's participation cap spent in its absence) and went to the auditor as a contributor.
struct Review7AForeignContributorTests {
    @Test func aCandidateNamingAContributorOutsideTheRoundsMembersIsRefused() throws {
        var settings = CoordinatorFixture.settings(dp: true)
        settings.participationCap = 1
        var fixture = try CoordinatorFixture(settings: settings)
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(4))
        let open = try #require(opened)
        let announced = Set(open.body.shards.flatMap(\.members))
        // The victim checked in, but only after the round was announced: it is not in it.
        fixture.checkIn(["watch-victim"])
        #expect(!announced.contains("watch-victim"))
        let forged = try Review7ACoordinatorCandidateTests.throughTheWire(
            fixture.candidate(
                roundId: open.body.roundId,
                value: 0.01,
                contributors: 2,
                contributorIds: ["watch-1", "watch-victim"]
            )
        )
        let actions = fixture.round.candidateReceived(forged, from: PeerIdentity(claimed: "global"), now: fixture.now)
        #expect(actions.rejections == [.notInCohort])
        #expect(actions.completions.isEmpty && actions.summaries.isEmpty)
        #expect(fixture.round.progress.participation.isEmpty, "nobody's participation is counted")
        #expect(fixture.round.openRoundId == open.body.roundId, "the round stays open for the real model")
        let honest = fixture.round.candidateReceived(
            fixture.candidate(roundId: open.body.roundId, value: 0.01, contributors: 1, contributorIds: ["watch-1"]),
            from: PeerIdentity(claimed: "global"),
            now: fixture.now
        )
        #expect(honest.completions.first?.contributorIds == ["watch-1"])
        #expect(fixture.round.progress.participation.count == 1)
    }
}
