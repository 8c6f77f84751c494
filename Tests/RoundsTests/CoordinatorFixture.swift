import Learning
import Privacy
import Wire

@testable import Rounds

/// A coordinator round driven with plain values: a clock, registered peers, and helpers that
/// play each peer (honest or not).
struct CoordinatorFixture {
    var round: CoordinatorRound
    var now: Int64 = 1_000_000
    let spec: ModelSpec
    let codec = WireCodec()

    /// A stand-in for SHA-256: 64 hex digits that change with every byte (only consistency matters).
    static let digest: @Sendable ([UInt8]) -> String = { bytes in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let word = String(hash, radix: 16)
        let padded = String(repeating: "0", count: 16 - word.count) + word
        return String(repeating: padded, count: 4)
    }

    /// Settings with short timings; `dp` turns on central DP with an auditor.
    static func settings(dp: Bool = false, rate: Double = 0.5) -> CoordinatorSettings {
        var settings = CoordinatorSettings()
        settings.rounds = 3
        settings.waitForWorkers = 1
        settings.roundTimeoutMillis = 1_000
        if dp {
            settings.privacy = PrivacySettings(
                placement: .central,
                clipNorm: 1,
                noiseMultiplier: 1.1,
                expectedCohort: 1
            )
            settings.cohort = .poisson(rate: rate)
            settings.hasAuditor = true
        }
        return settings
    }

    init(settings: CoordinatorSettings = CoordinatorFixture.settings()) throws {
        spec = try ModelSpec.wearable(task: .sleepQuality, architecture: nil)
        let progress = CoordinatorProgress(spec: spec, seed: 1, participationSalt: String(repeating: "ab", count: 32))
        round = CoordinatorRound(settings: settings, progress: progress, digest: Self.digest)
    }

    static func checkin(_ id: String, deviceClass: DeviceClassName = .watch) -> Checkin {
        Checkin(
            workerId: id,
            deviceClass: deviceClass,
            eligibility: Eligibility(consent: true, charging: true, unmetered: true, batteryPercent: 90),
            trainExamples: 10,
            holdoutExamples: 2
        )
    }

    static func ids(_ count: Int, prefix: String = "watch") -> [String] { (0..<count).map { "\(prefix)-\($0)" } }

    @discardableResult
    mutating func checkIn(_ ids: [String], deviceClass: DeviceClassName = .watch) -> [CoordinatorAction] {
        ids.flatMap {
            round.checkinReceived(Self.checkin($0, deviceClass: deviceClass), from: PeerIdentity(claimed: $0), now: now)
        }
    }

    static func globalHello(_ id: String = "global") -> AggregatorHello {
        AggregatorHello(
            aggregatorId: id,
            tier: .global,
            endpoint: "tcp://127.0.0.1:7200",
            sequence: 0,
            intervalMillis: 200
        )
    }

    static func shardHello(
        _ id: String = "region-watch-0",
        shard: Int = 0,
        endpoint: String = "tcp://127.0.0.1:7100"
    ) -> AggregatorHello {
        AggregatorHello(
            aggregatorId: id,
            tier: .region,
            region: .watch,
            shard: shard,
            endpoint: endpoint,
            sequence: 0,
            intervalMillis: 200
        )
    }

    /// A global aggregator and one watch shard, registered.
    mutating func registerTopology() {
        _ = round.helloReceived(Self.globalHello(), from: PeerIdentity(claimed: "global"), now: now)
        _ = round.helloReceived(Self.shardHello(), from: PeerIdentity(claimed: "region-watch-0"), now: now)
    }

    mutating func tick(by millis: Int64 = 0) -> [CoordinatorAction] {
        now += millis
        return round.timerFired(now: now)
    }

    /// Workers, topology, and a tick: the first round is proposed (DP) or opened.
    mutating func start(workers: [String]) -> [CoordinatorAction] {
        checkIn(workers)
        registerTopology()
        return tick()
    }

    mutating func approve(_ roundId: Int, epsilon: Double = 0.5) -> [CoordinatorAction] {
        round.verdictReceived(
            RoundVerdict(
                roundId: roundId,
                approved: true,
                epsilon: epsilon,
                delta: 1e-5,
                epsilonBudget: 8,
                accountant: .rdp
            ),
            now: now
        )
    }

    mutating func deny(_ roundId: Int, reason: String?) -> [CoordinatorAction] {
        round.verdictReceived(
            RoundVerdict(
                roundId: roundId,
                approved: false,
                epsilon: 9,
                delta: 1e-5,
                epsilonBudget: 8,
                accountant: .rdp,
                reason: reason
            ),
            now: now
        )
    }

    /// The `round.open` among `actions`, decoded as a subscriber would.
    func roundOpen(in actions: [CoordinatorAction]) -> Message<RoundOpen>? {
        for case .broadcast(.roundOpen, let frames) in actions {
            if case .success(let message) = codec.decode(frames, as: RoundOpen.self) { return message }
        }
        return nil
    }

    /// A model candidate for `roundId` with every weight `value`, as `sender` would send it.
    func candidate(
        roundId: Int,
        value: Float = 0,
        contributors: Int = 3,
        contributorIds: [String]? = nil,
        rejected: [String: Int]? = nil
    ) -> Message<ModelCandidate> {
        candidate(
            roundId: roundId,
            weights: [Float](repeating: value, count: spec.parameterCount),
            contributors: contributors,
            contributorIds: contributorIds,
            rejected: rejected
        )
    }

    func candidate(
        roundId: Int,
        weights: [Float],
        contributors: Int = 3,
        contributorIds: [String]? = nil,
        rejected: [String: Int]? = nil,
        digest: String? = nil
    ) -> Message<ModelCandidate> {
        var tensor = Tensor.f32le(name: "weights", weights)
        let computed = Self.digest(tensor.bytes)
        tensor.sha256 = computed
        let body = ModelCandidate(
            roundId: roundId,
            modelVersion: 1,
            modelDigest: digest ?? computed,
            participants: ParticipantCounts(watch: contributors),
            contributors: contributors,
            weightSum: Double(contributors),
            denominator: Double(contributors),
            noiseStd: 0,
            metrics: MetricsSummary(examples: 30, loss: 0.5, accuracy: 0.7),
            shardsReported: ["watch/0"],
            shardsMissing: [],
            clippedCount: 0,
            rejected: rejected,
            contributorIds: contributorIds
        )
        return Message(sender: "global", body: body, tensors: [tensor])
    }

    /// Opens the first round (proposing and approving it under DP) and returns its `round.open`.
    mutating func openFirstRound(workers: [String]) -> Message<RoundOpen>? {
        let started = start(workers: workers)
        if round.settings.hasAuditor {
            guard let roundId = round.proposedRoundId else { return nil }
            return roundOpen(in: approve(roundId))
        }
        return roundOpen(in: started)
    }
}

extension [CoordinatorAction] {
    /// The reasons of every `.reject` among the actions.
    var rejections: [RejectReason] {
        compactMap { if case .reject(let reason, _, _, _) = $0 { reason } else { nil } }
    }

    var proposals: [Wire.RoundProposal] {
        compactMap { if case .sendProposal(let proposal) = $0 { proposal } else { nil } }
    }

    var completions: [RoundCompleted] {
        compactMap { if case .sendCompletion(let completed) = $0 { completed } else { nil } }
    }

    var summaries: [RoundSummary] {
        compactMap { if case .publishSummary(let summary) = $0 { summary } else { nil } }
    }

    var ends: [RunEnd] {
        compactMap { if case .announceEnd(let end) = $0 { end } else { nil } }
    }

    var logLines: [CoordinatorLogLine] {
        compactMap { if case .log(let line) = $0 { line } else { nil } }
    }
}
