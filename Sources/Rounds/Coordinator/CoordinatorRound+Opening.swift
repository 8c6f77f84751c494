import Federation
import Learning
import Privacy
import SecureAggregation
import Wire

extension CoordinatorRound {
    /// Whether the next round must be the statistics round.
    public var statisticsPending: Bool { settings.featureStatistics && !progress.statisticsDone }

    /// Drafts, fits and proposes (or, without an auditor, opens) the next round.
    mutating func startRound(now: Int64) -> [CoordinatorAction] {
        if progress.completedRounds >= settings.rounds { return finish(.roundLimit) }
        let candidates = workers.workers.map { id, worker in
            Candidate(
                workerId: id,
                deviceClass: worker.deviceClass.rawValue,
                eligible: worker.eligible && underParticipationCap(id)
            )
        }
        if !openedAnyRound {
            let start = firstCheckinWaitStarted ?? now
            firstCheckinWaitStarted = start
            if candidates.count < settings.waitForWorkers && now - start < 60_000 {
                phase = .idle(nextAttempt: now + 100)
                return waiting(
                    now: now,
                    "waiting for workers to check in",
                    ["workers.live": "\(candidates.count)", "workers.expected": "\(settings.waitForWorkers)"]
                )
            }
            // The workers may all be in before the shard of their class has said hello; a first
            // round opened then would leave that class out of it (seen on a loaded machine).
            let served = Set(aggregators.shards.map(\.region))
            let unserved = Set(candidates.map(\.deviceClass)).subtracting(served)
            if !unserved.isEmpty && now - start < 60_000 {
                phase = .idle(nextAttempt: now + 100)
                return waiting(
                    now: now,
                    "waiting for a shard of every class with workers",
                    ["classes.unserved": "\(unserved.sorted().joined(separator: ","))"]
                )
            }
        }
        guard let global = aggregators.global else {
            phase = .idle(nextAttempt: now + 100)
            return waiting(now: now, "waiting for a global aggregator", [:])
        }
        let shards = aggregators.shards
        var draft = draftRound(roundId: progress.nextRoundId, candidates: candidates, shards: shards)
        guard draft.memberCount >= settings.minParticipants else {
            if !settings.isPrivate, case .poisson = settings.cohort {
                // A listed Poisson cohort is a function of the round id: draw the next one rather
                // than the same short cohort again (no DP, so nothing is conditioned).
                progress.nextRoundId += 1
            }
            phase = .idle(nextAttempt: now + 250)
            return waiting(
                now: now,
                "too few assignable workers for a round",
                ["round.members": "\(draft.memberCount)", "shards.live": "\(shards.count)"]
            )
        }
        var actions: [CoordinatorAction] = []
        switch fit(draft, globalEndpoint: global.endpoint, now: now) {
        case .success(let fitted):
            if fitted.memberCount < draft.memberCount {
                actions.append(
                    .warning(
                        "round.open would exceed the header limit; announcing part of the workers",
                        [
                            "round.members": "\(fitted.memberCount)",
                            "workers.left_out": "\(draft.memberCount - fitted.memberCount)",
                        ]
                    )
                )
            }
            draft = fitted
        case .failure(let error):
            phase = .idle(nextAttempt: now + 1_000)
            return [
                .encodeFailed(topic: .roundOpen, detail: error.description),
                .warning("round.open cannot be built; no round opened", ["error": error.description]),
            ]
        }
        if settings.isPrivate {
            draft.population = draft.memberCount
            draft.privacy.expectedCohort = max(1, Int((draft.samplingRate * Double(draft.population)).rounded()))
            guard let z = noiseMultiplier(samplingRate: draft.samplingRate, actions: &actions) else {
                return actions + [
                    .warning(
                        "no noise multiplier reaches the target ε; the run cannot go on",
                        ["privacy.q": "\(draft.samplingRate)"]
                    )
                ]
                    + finish(.calibrationFailed)
            }
            draft.privacy.noiseMultiplier = z
        }
        // Persist the id now: a coordinator restarted mid-round must never reuse it, or workers,
        // aggregators and the auditor (which refuse ids they have seen) would ignore the retry.
        progress.nextRoundId += 1
        actions.append(.persist(progress))
        guard settings.hasAuditor else { return actions + open(draft, epsilon: nil, now: now) }
        let proposal = Wire.RoundProposal(
            roundId: draft.roundId,
            samplingRate: draft.samplingRate,
            noiseMultiplier: draft.privacy.noiseMultiplier,
            clipNorm: draft.privacy.clipNorm ?? 1,
            placement: draft.privacy.placement,
            expectedCohort: draft.privacy.expectedCohort,
            population: max(1, draft.population),
            selected: draft.selection == .poisson ? [] : draft.members.map(participationKey),
            // The same numbers every device of the round encodes with (round.open's).
            skellam: draft.privacy.placement == .skellam ? settings.secureAggregation?.skellam : nil
        )
        phase = .awaitingVerdict(Pending(draft: draft, proposal: proposal, resendAt: now + 3_000))
        actions.append(.sendProposal(proposal))
        return actions
    }

    /// The round as announced: under DP each shard's eligible population with q (the devices
    /// sample themselves), else the cohort the seeded planner drew.
    func draftRound(roundId: Int, candidates: [Candidate], shards: [LiveShard]) -> RoundDraft {
        let kind: RoundKind = statisticsPending ? .statistics : .train
        let eligible = candidates.filter(\.eligible).count
        let selection: CohortSelection
        let sampling: CohortSampling
        let rate: Double
        if settings.isPrivate {
            selection = .poisson
            sampling = .all
            if case .poisson(let q) = settings.cohort { rate = q } else { rate = 1 }
        } else {
            selection = .listed
            switch settings.cohort {
            case .all:
                sampling = .all
                rate = 1
            case .fixedSize(let size):
                sampling = .fixedSize(size)
                rate = min(1, Double(size) / Double(max(1, eligible)))
            case .poisson(let q):
                sampling = .poisson(rate: q)
                rate = q
            }
        }
        let secure = settings.secureAggregation.flatMap { kind == .train ? $0 : nil }
        // A secure round cannot use a shard that announced no ROUTER (an older build): its
        // workers go to the class's other shards instead of sitting the round out.
        let usable = shards.filter {
            secure == nil || aggregators.secureAggregationEndpoint(region: $0.region, shard: $0.shard) != nil
        }
        var plan = CohortPlanner.plan(
            candidates: candidates,
            shards: usable,
            sampling: sampling,
            seed: settings.seed,
            roundId: roundId
        )
        if let secure { plan = CohortPlanner.consolidating(plan, minimumMembers: Self.smallestSecureCohort(secure)) }
        let assignments = plan.shards.compactMap { entry -> ShardAssignment? in
            guard let region = DeviceClassName(rawValue: entry.shard.region) else { return nil }
            let secAgg = aggregators.secureAggregationEndpoint(region: entry.shard.region, shard: entry.shard.shard)
            return ShardAssignment(
                region: region,
                shard: entry.shard.shard,
                endpoint: entry.shard.endpoint,
                members: entry.members,
                secureAggregationEndpoint: secAgg
            )
        }
        return RoundDraft(
            roundId: roundId,
            kind: kind,
            selection: selection,
            samplingRate: rate,
            assignments: assignments,
            population: max(1, eligible),
            privacy: settings.privacy
        )
    }

    /// The fewest members a shard's secure round can run with: the smallest cohort from which
    /// every larger one has a neighbour graph at the settings' rates (`SecAggPlan`'s rule; a
    /// folded group can end at any size above the minimum), and under Skellam no fewer
    /// than the survivors a shard must count before it may release a sum.
    static func smallestSecureCohort(_ settings: SecureAggregationSettings) -> Int {
        let graph = SecAggConfiguration.smallestCohort(
            bitsPerValue: settings.skellam?.valueBits ?? settings.valueBits,
            threatModel: SecAggThreatModel(corruptRate: settings.corruptRate, dropoutRate: settings.dropoutRate),
            upTo: 64
        )
        return max(graph ?? 64, settings.skellam?.minimumSurvivors ?? 0)
    }

    /// The configured z, or the one calibrated once per run to reach the target ε over all rounds.
    mutating func noiseMultiplier(samplingRate: Double, actions: inout [CoordinatorAction]) -> Double? {
        guard let target = settings.targetEpsilon else { return settings.privacy.noiseMultiplier }
        if let calibrated = progress.calibratedNoiseMultiplier { return calibrated }
        guard samplingRate > 0, samplingRate <= 1, settings.delta > 0, settings.delta < 1, target > 0,
            settings.rounds > 0,
            let z = NoiseCalibration.noiseMultiplier(
                targetEpsilon: target,
                delta: settings.delta,
                samplingRate: samplingRate,
                rounds: settings.rounds
            )
        else { return nil }
        actions.append(
            .info(
                "noise multiplier calibrated",
                ["privacy.z": "\(z)", "privacy.target_epsilon": "\(target)", "privacy.q": "\(samplingRate)"]
            )
        )
        progress.calibratedNoiseMultiplier = z
        return z
    }

    // MARK: The broadcast

    /// The `round.open` body of a draft.
    func roundOpen(
        _ draft: RoundDraft,
        globalEndpoint: String,
        deadline: Int64
    ) throws(WireError) -> (body: RoundOpen, weights: Tensor) {
        var weights = Tensor.f32le(name: "weights", progress.weights)
        let digest = candidateCheck.digest(weights.bytes)
        weights.sha256 = digest
        let poisson = draft.selection == .poisson
        let body = RoundOpen(
            roundId: draft.roundId,
            kind: draft.kind,
            modelVersion: progress.modelVersion,
            modelDigest: digest,
            modelSpec: try JSONValue(encoding: progress.spec),
            training: settings.training,
            privacy: draft.privacy,
            selection: draft.selection,
            samplingRate: poisson ? draft.samplingRate : nil,
            shards: draft.assignments,
            globalEndpoint: globalEndpoint,
            deadlineMillis: deadline,
            minParticipants: settings.minParticipants,
            samplingSeed: poisson ? nil : Int(truncatingIfNeeded: settings.seed),
            compression: settings.compressionSettings(privacy: draft.privacy, kind: draft.kind, roundId: draft.roundId),
            secureAggregation: draft.kind == .train ? settings.secureAggregation : nil
        )
        return (body, weights)
    }

    /// Room kept in the header for what changes between fitting and opening (deadline, z, m).
    static let headerSlack = 4_096

    /// The draft, with members left out (a seeded shuffle, not the tail of the id order) when
    /// its `round.open` would not fit the header limit: no message the coordinator builds may
    /// be one it cannot send.
    func fit(_ draft: RoundDraft, globalEndpoint: String, now: Int64) -> Result<RoundDraft, WireError> {
        let measuring = WireCodec(limits: WireLimits(maxHeaderBytes: 1 << 30, maxTotalBytes: Int.max))
        func headerBytes(_ candidate: RoundDraft) throws(WireError) -> Int {
            let (body, weights) = try roundOpen(
                candidate,
                globalEndpoint: globalEndpoint,
                deadline: now + settings.roundTimeoutMillis
            )
            return try measuring.encode(body, sender: settings.id, sentAtMillis: now, tensors: [weights])[1].count
        }
        let budget = settings.limits.maxHeaderBytes - Self.headerSlack
        do throws(WireError) {
            let full = try headerBytes(draft)
            if full <= budget { return .success(draft) }
            var empty = draft
            for index in empty.assignments.indices { empty.assignments[index].members = [] }
            let base = try headerBytes(empty)
            guard base < budget else {
                return .failure(
                    WireError(code: .oversized, detail: "round.open without members is \(base) bytes, over \(budget)")
                )
            }
            var generator = SeededGenerator(
                seed: settings.seed,
                stream: UInt64(truncatingIfNeeded: draft.roundId) ^ 0x6669_74
            )
            var order = draft.assignments.indices.flatMap { shard in
                draft.assignments[shard].members.map { (shard, $0) }
            }
            order.shuffle(using: &generator)
            var keep = Int(Double(order.count) * Double(budget - base) / Double(full - base) * 0.98)
            for _ in 0..<8 {
                var cut = empty
                for (shard, member) in order.prefix(max(0, keep)) { cut.assignments[shard].members.append(member) }
                for index in cut.assignments.indices { cut.assignments[index].members.sort() }
                cut.assignments.removeAll { $0.members.isEmpty }
                if try headerBytes(cut) <= budget { return .success(cut) }
                keep = keep * 9 / 10
            }
            return .failure(WireError(code: .oversized, detail: "round.open does not fit \(budget) header bytes"))
        } catch {
            return .failure(error)
        }
    }

    /// Publishes the approved (or, without an auditor, planned) round.
    mutating func open(_ draft: RoundDraft, epsilon: Double?, now: Int64) -> [CoordinatorAction] {
        guard let global = aggregators.global else {
            phase = .idle(nextAttempt: now + 100)
            return [
                .warning(
                    "the global aggregator left before the round opened; retrying",
                    ["round.id": "\(draft.roundId)"]
                )
            ]
        }
        let frames: [[UInt8]]
        let deadline = now + settings.roundTimeoutMillis
        do throws(WireError) {
            let (body, weights) = try roundOpen(draft, globalEndpoint: global.endpoint, deadline: deadline)
            frames = try codec.encode(body, sender: settings.id, sentAtMillis: now, tensors: [weights])
        } catch {
            phase = .idle(nextAttempt: now + 1_000)
            return [
                .encodeFailed(topic: .roundOpen, detail: error.description),
                .warning(
                    "round.open could not be encoded; the round is not opened",
                    ["round.id": "\(draft.roundId)", "error": error.description]
                ),
            ]
        }
        openedAnyRound = true
        let size = frames.reduce(0) { $0 + $1.count }
        phase = .open(
            OpenRound(
                draft: draft,
                frames: frames,
                deadline: deadline,
                nextPublish: now + settings.republishIntervalMillis,
                openedAt: now,
                bytesDown: size * draft.memberCount,
                epsilon: epsilon
            )
        )
        return [
            .broadcast(topic: .roundOpen, frames: frames),
            .info(
                "round opened",
                [
                    "round.id": "\(draft.roundId)", "round.selection": draft.selection.rawValue,
                    "round.members": "\(draft.memberCount)",
                    "model.version": "\(progress.modelVersion)",
                ]
            ),
        ]
    }
}
