import Privacy
import SecureAggregation
import Testing
import Wire

@testable import Rounds

/// A `skellam` round in which too few devices send their masked input: the shard must stop
/// before it unmasks, not after.
///
/// Why it matters: the shard is the semi-honest party SecAgg+ protects against. A sum it has
/// unmasked is a sum it knows, whether or not it then sends a partial; the auditor charges the
/// round at the approval's `minimumSurvivors` (the record of a failed shard never reaches it),
/// so a sum of fewer survivors that the shard has seen carries less Skellam noise than was paid for.
@Suite struct Review7BSkellamUnmaskTests {
    /// Ten members; one never advertises, one never gets its shares: eight masked inputs.
    static func eightInputs(minimumSurvivors: Int) throws -> SecAggSessionTests.Run {
        var settings = SecAggSkellamTests.skellam
        settings.minimumSurvivors = minimumSurvivors
        return try SecAggSkellamTests.run(
            SecAggSkellamTests.open(devices: 10, skellam: settings),
            silent: ["watch-7"],
            goneBefore: ["watch-2": "shares"]
        )
    }

    /// Eight of ten devices mask their input (one never advertises, one never gets its shares)
    /// in a round that may release a sum of nine at the fewest: no unmask request goes out and
    /// no self-mask seed is rebuilt.
    @Test func devicesDroppingBelowTheSkellamMinimumNeverLetTheShardUnmaskTheirSum() throws {
        let run = try Self.eightInputs(minimumSurvivors: 9)
        let (partial, _) = try #require(run.partial)
        #expect(partial.contributors == 0 && partial.secureAggregation == nil)
        #expect(run.failures.count == 1 && run.failures.first?.contains("fewer than the 9") == true)
        #expect(
            !run.stages.contains(SecAggStage.unmasking.rawValue),
            "the shard asked for unmask shares of 8 inputs in a round that needs 9: \(run.stages)"
        )
        let server = try #require(run.shard.current?.round?.server)
        #expect(server.rebuiltSeedOwners.isEmpty, "self-mask seeds rebuilt: \(server.rebuiltSeedOwners.sorted())")
        #expect(server.minimumSurvivors == 9)
    }

    /// At exactly the minimum the round still releases its sum (the fix moves the check, it
    /// does not tighten it).
    @Test func exactlyTheSkellamMinimumStillReleasesTheSum() throws {
        let run = try Self.eightInputs(minimumSurvivors: 8)
        let (partial, _) = try #require(run.partial)
        #expect(run.failures.isEmpty)
        #expect(partial.contributors == 8 && partial.secureAggregation?.survivors == 8)
    }
}
