import Learning
import Federation
import Testing
import Wire

@testable import Rounds

/// The coordinator's decisions with plain values: one test per attack or rule of issue 8.
struct CoordinatorRoundTests {
    // MARK: Sampling secrecy (issue 8 §3)

    @Test func underDPTheOpenAnnouncesEachShardsPopulationWithoutASeed() throws {
        var fixture = try CoordinatorFixture(settings: CoordinatorFixture.settings(dp: true, rate: 0.3))
        let workers = CoordinatorFixture.ids(10)
        let proposed = fixture.start(workers: workers)
        let proposal = try #require(proposed.proposals.first)
        #expect(proposal.selected.isEmpty, "a Poisson proposal names nobody")
        #expect(proposal.population == 10)
        #expect(proposal.samplingRate == 0.3)
        #expect(proposal.expectedCohort == 3, "m = q · population")
        let approved = fixture.approve(proposal.roundId)
        let open = try #require(fixture.roundOpen(in: approved))
        #expect(open.body.selection == .poisson)
        #expect(open.body.samplingRate == 0.3)
        #expect(open.body.samplingSeed == nil)
        #expect(open.body.privacy.expectedCohort == 3)
        #expect(Set(open.body.shards.flatMap(\.members)) == Set(workers), "members are the whole eligible population")
    }

    @Test func withoutDPTheOpenListsTheSeededCohort() throws {
        var settings = CoordinatorFixture.settings()
        settings.cohort = .fixedSize(4)
        var fixture = try CoordinatorFixture(settings: settings)
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(10))
        let open = try #require(opened)
        #expect(open.body.selection == .listed)
        #expect(open.body.samplingRate == nil)
        #expect(open.body.samplingSeed != nil)
        #expect(open.body.shards.flatMap(\.members).count == 4)
    }

    @Test func aShortDPRoundIsRetriedWithTheNextIdAndNeverRedrawn() throws {
        var settings = CoordinatorFixture.settings(dp: true)
        settings.minParticipants = 3
        var fixture = try CoordinatorFixture(settings: settings)
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(10))
        let first = try #require(opened)
        let short = fixture.round.candidateReceived(
            fixture.candidate(roundId: first.body.roundId, contributors: 2),
            from: PeerIdentity(claimed: "global"),
            now: fixture.now
        )
        #expect(short.summaries.isEmpty)
        #expect(fixture.round.progress.completedRounds == 0)
        let retried = fixture.tick()
        let retry = try #require(retried.proposals.first)
        #expect(retry.roundId == first.body.roundId + 1, "the spent round id is not reused")
        #expect(retry.population == 10, "the same population, not a re-drawn sample")
    }

    @Test func participationComesFromTheCandidatesContributorIdsAndReachesTheAuditor() throws {
        var settings = CoordinatorFixture.settings(dp: true)
        settings.participationCap = 1
        var fixture = try CoordinatorFixture(settings: settings)
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(6))
        let open = try #require(opened)
        let contributors = ["watch-1", "watch-4"]
        let done = fixture.round.candidateReceived(
            fixture.candidate(roundId: open.body.roundId, contributors: 2, contributorIds: contributors),
            from: PeerIdentity(claimed: "global"),
            now: fixture.now
        )
        #expect(done.completions.first?.contributorIds == contributors)
        #expect(done.summaries.count == 1)
        let ticked = fixture.tick()
        let next = try #require(ticked.proposals.first)
        #expect(next.population == 4, "the two capped contributors leave the population")
    }

    // MARK: Candidates (issue 8 §4b)

    @Test func aStrangersAllZeroCandidateIsRefusedAndTheModelKept() throws {
        var fixture = try CoordinatorFixture()
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(3))
        let open = try #require(opened)
        let before = fixture.round.progress.weights
        let actions = fixture.round.candidateReceived(
            fixture.candidate(roundId: open.body.roundId),
            from: PeerIdentity(claimed: "mallory"),
            now: fixture.now
        )
        #expect(actions.rejections == [.unauthorizedSender])
        #expect(fixture.round.progress.weights == before)
        #expect(fixture.round.openRoundId == open.body.roundId, "the round stays open for the real model")
    }

    @Test func aCandidateOfHugeFiniteWeightsIsRefusedBeforeEvaluation() throws {
        var settings = CoordinatorFixture.settings()
        let spec = try ModelSpec.wearable(task: .sleepQuality, architecture: nil)
        // With a hold-out, an unchecked candidate would be evaluated (and ±3e38 traps there).
        settings.holdout = try SyntheticWearables(task: .sleepQuality, seed: 3).centralHoldOutRecords(
            users: 2,
            recordsPerUser: 5,
            spec: spec
        )
        var fixture = try CoordinatorFixture(settings: settings)
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(3))
        let open = try #require(opened)
        let huge = (0..<spec.parameterCount).map { $0 % 2 == 0 ? Float(3e38) : Float(-3e38) }
        let actions = fixture.round.candidateReceived(
            fixture.candidate(roundId: open.body.roundId, weights: huge),
            from: PeerIdentity(claimed: "global"),
            now: fixture.now
        )
        #expect(actions.rejections == [.overflow])
        #expect(fixture.round.progress.completedRounds == 0)
        let honest = fixture.round.candidateReceived(
            fixture.candidate(roundId: open.body.roundId, value: 0.01),
            from: PeerIdentity(claimed: "global"),
            now: fixture.now
        )
        let summary = try #require(honest.summaries.first)
        #expect(summary.accuracy != nil, "the honest model is evaluated on the hold-out")
        #expect(summary.rejected == ["overflow": 1], "the refusal is reported in the round's summary")
    }

    enum BrokenCandidate: String, CaseIterable {
        case staleRound, wrongDigest, wrongShape
    }

    @Test(arguments: BrokenCandidate.allCases)
    func aBrokenCandidateFromTheGlobalAggregatorIsRefused(_ broken: BrokenCandidate) throws {
        var fixture = try CoordinatorFixture()
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(3))
        let open = try #require(opened)
        let roundId = open.body.roundId
        let message: Message<ModelCandidate>
        let expected: RejectReason
        switch broken {
        case .staleRound: (message, expected) = (fixture.candidate(roundId: roundId + 5), .staleRound)
        case .wrongDigest:
            message = fixture.candidate(
                roundId: roundId,
                weights: fixture.round.progress.weights,
                digest: String(repeating: "0", count: 64)
            )
            expected = .digestMismatch
        case .wrongShape:
            (message, expected) = (fixture.candidate(roundId: roundId, weights: [0, 0, 0]), .shapeMismatch)
        }
        let actions = fixture.round.candidateReceived(message, from: PeerIdentity(claimed: "global"), now: fixture.now)
        #expect(actions.rejections == [expected])
        #expect(fixture.round.progress.completedRounds == 0)
    }

    // MARK: Registration (issue 8 §4b)

    @Test func aSecondHelloForALiveSlotIsRefused() throws {
        var fixture = try CoordinatorFixture()
        fixture.registerTopology()
        let global = fixture.round.helloReceived(
            CoordinatorFixture.globalHello("rogue"),
            from: PeerIdentity(claimed: "rogue"),
            now: fixture.now
        )
        #expect(global.rejections == [.unauthorizedSender])
        #expect(fixture.round.aggregators.global?.id == "global")
        let shard = fixture.round.helloReceived(
            CoordinatorFixture.shardHello("rogue-shard", endpoint: "tcp://10.0.0.66:1"),
            from: PeerIdentity(claimed: "rogue-shard"),
            now: fixture.now
        )
        #expect(shard.rejections == [.unauthorizedSender])
        #expect(fixture.round.aggregators.aggregators["rogue-shard"] == nil)
        #expect(fixture.round.aggregators.aggregators["region-watch-0"]?.hello.endpoint == "tcp://127.0.0.1:7100")
    }

    /// A device (its key enrolled under its own id) tries to register a free shard slot, so that
    /// workers would be sent to its endpoint: the id must name the slot, so it cannot.
    @Test func aHelloWhoseIdDoesNotNameItsSlotIsRefusedEvenForAFreeSlot() throws {
        var fixture = try CoordinatorFixture()
        fixture.registerTopology()
        let actions = fixture.round.helloReceived(
            CoordinatorFixture.shardHello("watch-3", shard: 5, endpoint: "tcp://10.0.0.66:1"),
            from: PeerIdentity(claimed: "watch-3", authenticated: "watch-3"),
            now: fixture.now
        )
        #expect(actions.rejections == [.unauthorizedSender])
        #expect(fixture.round.aggregators.shards.map(\.shard) == [0])
        let honest = fixture.round.helloReceived(
            CoordinatorFixture.shardHello("region-watch-5", shard: 5, endpoint: "tcp://127.0.0.1:7105"),
            from: PeerIdentity(claimed: "region-watch-5", authenticated: "region-watch-5"),
            now: fixture.now
        )
        #expect(honest.rejections.isEmpty)
        #expect(fixture.round.aggregators.shards.map(\.shard) == [0, 5])
    }

    @Test func aCheckinOrHelloInAnotherPeersNameIsRefused() throws {
        var fixture = try CoordinatorFixture()
        let checkin = fixture.round.checkinReceived(
            CoordinatorFixture.checkin("watch-1"),
            from: PeerIdentity(claimed: "mallory"),
            now: fixture.now
        )
        #expect(checkin.rejections == [.unauthorizedSender])
        #expect(fixture.round.workers.count == 0)
        let hello = fixture.round.helloReceived(
            CoordinatorFixture.globalHello(),
            from: PeerIdentity(claimed: "mallory"),
            now: fixture.now
        )
        #expect(hello.rejections == [.unauthorizedSender])
        #expect(fixture.round.aggregators.global == nil)
    }

    @Test func theWorkerRegistryIsBounded() throws {
        var settings = CoordinatorFixture.settings()
        settings.maxWorkers = 3
        var fixture = try CoordinatorFixture(settings: settings)
        let flood = fixture.checkIn(CoordinatorFixture.ids(5))
        #expect(flood.rejections == [.bufferFull, .bufferFull])
        #expect(fixture.round.workers.count == 3)
        #expect(fixture.checkIn(["watch-0"]).rejections.isEmpty, "a known worker keeps its slot")
    }

    @Test func aPopulationTooBigForTheHeaderIsCutAndTheRoundStillOpens() throws {
        var settings = CoordinatorFixture.settings()
        settings.limits = WireLimits(maxHeaderBytes: 64 << 10)
        var fixture = try CoordinatorFixture(settings: settings)
        let longIds = (0..<1_000).map { index in
            let stem = "w\(index)-"
            return stem + String(repeating: "x", count: 128 - stem.count)
        }
        let actions = fixture.start(workers: longIds)
        let open = try #require(fixture.roundOpen(in: actions), "the round opens")
        let frames = try #require(
            actions.compactMap { if case .broadcast(_, let frames) = $0 { frames } else { nil } }.first
        )
        #expect(frames[1].count <= 64 << 10)
        let announced = open.body.shards.flatMap(\.members).count
        #expect(announced > 0 && announced < longIds.count)
        #expect(actions.logLines.contains { $0.message.contains("header limit") })
    }

    @Test func aWorkerThatStopsCheckingInIsDroppedWithALogLine() throws {
        var fixture = try CoordinatorFixture()
        fixture.checkIn(["watch-0", "watch-1"])
        fixture.now += 5_000
        fixture.checkIn(["watch-1"])
        let actions = fixture.tick(by: 6_000)
        #expect(fixture.round.workers.workers.keys.sorted() == ["watch-1"])
        #expect(actions.logLines.contains { $0.metadata["worker.ids"] == "watch-0" })
    }

    @Test func afterTheDeadlineTheNextTimerIsTheCandidateGraceNotThePast() throws {
        var fixture = try CoordinatorFixture()
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(3))
        let open = try #require(opened)
        fixture.now = open.body.deadlineMillis + 10
        _ = fixture.tick()
        let grace = fixture.round.settings.candidateGraceMillis
        #expect(fixture.round.nextTimer(now: fixture.now) == open.body.deadlineMillis + grace)
    }

    // MARK: Verdicts (issue 8 §3)

    @Test func onlyABudgetDenyEndsTheRun() throws {
        var fixture = try CoordinatorFixture(settings: CoordinatorFixture.settings(dp: true))
        let started = fixture.start(workers: CoordinatorFixture.ids(4))
        let first = try #require(started.proposals.first)
        let conflicting = fixture.deny(first.roundId, reason: "conflictingProposal")
        #expect(conflicting.ends.isEmpty)
        #expect(!fixture.round.isFinished)
        let ticked = fixture.tick(by: 1_000)
        let again = try #require(ticked.proposals.first)
        #expect(again.roundId == first.roundId + 1)
        let budget = fixture.deny(again.roundId, reason: "budgetExceeded")
        #expect(budget.ends.map(\.reason) == ["budgetExhausted"])
        #expect(fixture.round.isFinished)
    }

    @Test func repeatedDeniesEndTheRunWithTheirOwnReason() throws {
        var settings = CoordinatorFixture.settings(dp: true)
        settings.maxDenies = 3
        var fixture = try CoordinatorFixture(settings: settings)
        var actions = fixture.start(workers: CoordinatorFixture.ids(4))
        var ends: [RunEnd] = []
        for _ in 0..<3 {
            let proposal = try #require(actions.proposals.first)
            ends += fixture.deny(proposal.roundId, reason: "invalidParameters").ends
            actions = fixture.tick(by: 1_000)
        }
        #expect(ends.map(\.reason) == ["auditorDenied"])
    }

    // MARK: Summary (issue 8 §3)

    @Test func underDPTheSummaryCarriesNoPerDeviceMetric() throws {
        var fixture = try CoordinatorFixture(settings: CoordinatorFixture.settings(dp: true))
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(4))
        let open = try #require(opened)
        let done = fixture.round.candidateReceived(
            fixture.candidate(roundId: open.body.roundId, rejected: ["normTooLarge": 2]),
            from: PeerIdentity(claimed: "global"),
            now: fixture.now
        )
        let summary = try #require(done.summaries.first)
        #expect(summary.federatedAccuracy == nil && summary.accuracy == nil && summary.loss == nil)
        #expect(summary.rejected == ["normTooLarge": 2])
        #expect(done.completions.first?.metrics == nil)
    }

    @Test func withoutDPTheSummaryKeepsTheFederatedAccuracy() throws {
        var fixture = try CoordinatorFixture()
        let opened = fixture.openFirstRound(workers: CoordinatorFixture.ids(3))
        let open = try #require(opened)
        let done = fixture.round.candidateReceived(
            fixture.candidate(roundId: open.body.roundId),
            from: PeerIdentity(claimed: "global"),
            now: fixture.now
        )
        #expect(done.summaries.first?.federatedAccuracy == 0.7)
    }
}
