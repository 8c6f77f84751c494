import Federation
import Testing
import Wire

struct ShardRoundTests {
    @Test func acceptsEachMemberOnceForTheOpenRoundAndModel() {
        var round = ShardRound(roundId: 5, modelVersion: 2, members: ["a", "b"], parameterCount: 10)
        #expect(round.admit(workerId: "a", roundId: 5, modelVersion: 2, elementCount: 10) == .accept)
        #expect(round.contributed(workerId: "a", weight: 3) == false)
        #expect(round.admit(workerId: "a", roundId: 5, modelVersion: 2, elementCount: 10) == .reject(.duplicate))
        #expect(round.admit(workerId: "z", roundId: 5, modelVersion: 2, elementCount: 10) == .reject(.notInCohort))
        #expect(round.admit(workerId: "b", roundId: 4, modelVersion: 2, elementCount: 10) == .reject(.staleRound))
        #expect(round.admit(workerId: "b", roundId: 5, modelVersion: 1, elementCount: 10) == .reject(.wrongModelVersion))
        #expect(round.admit(workerId: "b", roundId: 5, modelVersion: 2, elementCount: 9) == .reject(.shapeMismatch))
        #expect(round.admit(workerId: "b", roundId: 5, modelVersion: 2, elementCount: 10) == .accept)
        #expect(round.contributed(workerId: "b", weight: 1) == true)
        #expect(round.weightSum == 4)
        #expect(round.contributors == ["a", "b"])
        #expect(round.rejected == [.duplicate: 1, .notInCohort: 1, .staleRound: 1, .wrongModelVersion: 1, .shapeMismatch: 1])
    }

    @Test func aClosedRoundRefusesLateUpdates() {
        var round = ShardRound(roundId: 1, modelVersion: 0, members: ["a", "b"], parameterCount: 4)
        round.close()
        #expect(round.admit(workerId: "a", roundId: 1, modelVersion: 0, elementCount: 4) == .reject(.roundClosed))
        #expect(round.missing == 2)
    }
}

struct GlobalRoundTests {
    @Test func completesWhenEveryNamedShardReportedOnce() {
        var round = GlobalRound(roundId: 3, modelVersion: 1, expectedShards: ["watch/0", "phone/0"])
        #expect(round.partialReceived(shard: "watch/0", roundId: 3, modelVersion: 1) == .accept(complete: false))
        #expect(round.partialReceived(shard: "watch/0", roundId: 3, modelVersion: 1) == .reject(.duplicate))
        #expect(round.partialReceived(shard: "tablet/0", roundId: 3, modelVersion: 1) == .reject(.unknownSender))
        #expect(round.partialReceived(shard: "phone/0", roundId: 2, modelVersion: 1) == .reject(.staleRound))
        #expect(round.missing == ["phone/0"])
        #expect(round.partialReceived(shard: "phone/0", roundId: 3, modelVersion: 1) == .accept(complete: true))
        #expect(round.missing.isEmpty)
    }

    @Test func closingAtTheDeadlineReportsTheMissingShard() {
        var round = GlobalRound(roundId: 1, modelVersion: 0, expectedShards: ["watch/0", "watch/1"])
        _ = round.partialReceived(shard: "watch/0", roundId: 1, modelVersion: 0)
        round.close()
        #expect(round.partialReceived(shard: "watch/1", roundId: 1, modelVersion: 0) == .reject(.roundClosed))
        #expect(round.missing == ["watch/1"])
    }
}
