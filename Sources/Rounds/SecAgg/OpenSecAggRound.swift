import Privacy
import SecureAggregation
import Wire

/// One secure-aggregation round at a shard, from `round.open` to its partial.
struct OpenSecAggRound: Sendable {
    let roundId: Int
    let modelVersion: Int
    let members: [String]
    let memberSet: Set<String>
    let parameterCount: Int
    let settings: SecureAggregationSettings?
    /// Poisson selection: members that did not sample themselves send weight 0, so the weight
    /// sum (not the survivors) is the number of contributions, and who they are stays unknown.
    let selfSampled: Bool
    let quantizer: SecAggQuantizer?
    /// A `skellam` round's decoder: the unmasked sum is Skellam integers, not the quantizer's.
    var skellam: SkellamDecoder?
    /// Nil when the round could not start (its empty partial is already sent).
    private(set) var round: SecAggShardRound?
    /// Every member's Shamir point (from the graph): how later stages name devices on the wire.
    private var book: SecAggPointBook?
    var rejected: [RejectReason: Int] = [:]
    var bytes = 0
    var sent = false

    static func make(
        open: RoundOpen,
        settings: SecureAggregationSettings,
        members: [String],
        parameterCount: Int,
        now: Int64,
        recordsObservations: Bool,
        ringKey: [UInt8]
    ) -> Result<OpenSecAggRound, WireError> {
        if let refusal = SecAggPlan.refusal(of: open) { return .failure(refusal) }
        let plan: (configuration: SecAggConfiguration, quantizer: SecAggQuantizer)
        switch SecAggPlan.make(settings: settings, cohortSize: members.count, parameterCount: parameterCount) {
        case .success(let made): plan = made
        case .failure(let error): return .failure(error)
        }
        // A round whose devices cannot stay within the central noise's clip norm is not run.
        if case .failure(let error) = SecAggPlan.deviceClipNorm(
            open: open,
            quantizer: plan.quantizer,
            parameterCount: parameterCount
        ) {
            return .failure(error)
        }
        var decoder: SkellamDecoder?
        if open.privacy.placement == .skellam {
            switch SecAggPlan.skellamParameters(
                open: open,
                parameterCount: parameterCount,
                cohortSize: members.count,
                modulusBits: plan.configuration.modulusBits
            ) {
            case .success(let parameters): decoder = SkellamDecoder(parameters)
            case .failure(let error): return .failure(error)
            }
        }
        // Under `skellam` the protocol itself stops below the approved minimum, at whichever stage
        // loses the devices: a sum the shard has unmasked is a sum it knows, partial or not, and
        // its Sk(survivors·μ) noise must be what the auditor charged (it never sees this record).
        let minimumSurvivors = max(plan.configuration.threshold + 1, settings.skellam?.minimumSurvivors ?? 0)
        guard
            let graph = NeighbourGraph.keyed(members: members, degree: plan.configuration.degree, ringKey: ringKey),
            let server = SecAggServer(
                roundId: SecAggPlan.protocolRoundId(open.roundId),
                configuration: plan.configuration,
                graph: graph,
                minimumSurvivors: minimumSurvivors,
                recordsObservations: recordsObservations
            )
        else {
            return .failure(
                WireError(code: .malformedHeader, detail: "no neighbour graph for \(members.count) devices")
            )
        }
        // Training happens before the first stage's answer: the key stage lasts until three
        // stage timeouts before the round's deadline, so the whole protocol ends by then.
        let stage = Int64(settings.stageTimeoutMillis)
        let (reserve, overflow) = stage.multipliedReportingOverflow(by: 3)
        let keysDeadline = overflow ? now : max(now + stage, open.deadlineMillis &- reserve)
        var round = OpenSecAggRound(
            roundId: open.roundId,
            modelVersion: open.modelVersion,
            members: members,
            parameterCount: parameterCount,
            settings: settings,
            selfSampled: open.selection == .poisson,
            quantizer: plan.quantizer
        )
        round.skellam = decoder
        round.book = SecAggPointBook(graph: graph)
        round.round = SecAggShardRound(
            server: server,
            openedAtMillis: keysDeadline &- stage,
            stageTimeoutMillis: stage
        )
        return .success(round)
    }

    static func empty(open: RoundOpen, members: [String], parameterCount: Int) -> OpenSecAggRound {
        OpenSecAggRound(
            roundId: open.roundId,
            modelVersion: open.modelVersion,
            members: members,
            parameterCount: parameterCount,
            settings: nil,
            selfSampled: open.selection == .poisson,
            quantizer: nil
        )
    }

    private init(
        roundId: Int,
        modelVersion: Int,
        members: [String],
        parameterCount: Int,
        settings: SecureAggregationSettings?,
        selfSampled: Bool,
        quantizer: SecAggQuantizer?
    ) {
        self.selfSampled = selfSampled
        self.roundId = roundId
        self.modelVersion = modelVersion
        self.members = members
        self.memberSet = Set(members)
        self.parameterCount = parameterCount
        self.settings = settings
        self.quantizer = quantizer
    }

    // MARK: Events

    mutating func received(
        _ message: AnyMessage,
        from identity: PeerIdentity,
        byteCount: Int,
        now: Int64,
        region: DeviceClassName,
        shard: Int
    ) -> [SecAggShardAction] {
        let sender = identity.name
        guard identity.isConsistent else {
            return refuse(.senderMismatch, sender, nil, "claims \(identity.claimed), proven \(sender)")
        }
        guard let (roundId, messageShard) = Self.roundAndShard(of: message) else {
            return refuse(.malformedHeader, sender, nil, "\(message.topic) is not a stage a device sends")
        }
        // Shares past the threshold arrive after the sum was released: expected, not an attack.
        if roundId == self.roundId && sent { return [] }
        guard roundId == self.roundId, var protocolRound = round.take() else {
            let reason: RejectReason = roundId < self.roundId ? .staleRound : .roundClosed
            return refuse(reason, sender, roundId, "secure round \(self.roundId) \(sent ? "is over" : "is open")")
        }
        defer { round = protocolRound }
        guard messageShard == shard else {
            return refuse(
                .wrongShard,
                sender,
                roundId,
                "for shard \(messageShard), this is \(region.rawValue)/\(shard)"
            )
        }
        // Only now the frames, read against this round's book: a late device of another round
        // or a device of another shard names points of a different ring, and is refused above
        // for what it is (stale, wrong shard), not counted as a garbled message.
        guard let event = event(message) else {
            return refuse(.malformedHeader, sender, roundId, "unreadable \(message.topic)")
        }
        let before = protocolRound.stage
        let (total, overflow) = bytes.addingReportingOverflow(byteCount)
        bytes = overflow ? .max : total
        let actions = protocolRound.received(event, from: identity, now: now)
        round = protocolRound
        return perform(actions, stageBefore: before, region: region, shard: shard)
    }

    mutating func timerFired(now: Int64, region: DeviceClassName, shard: Int) -> [SecAggShardAction] {
        guard !sent, var protocolRound = round.take() else { return [] }
        let before = protocolRound.stage
        let actions = protocolRound.timer(now: now)
        round = protocolRound
        return perform(actions, stageBefore: before, region: region, shard: shard)
    }

    /// The round and shard a device's stage message is for, from its header alone; nil for a
    /// topic devices do not send.
    static func roundAndShard(of message: AnyMessage) -> (roundId: Int, shard: Int)? {
        switch message {
        case .secAggKeys(let m): (m.body.roundId, m.body.shard)
        case .secAggShares(let m): (m.body.roundId, m.body.shard)
        case .secAggMasked(let m): (m.body.roundId, m.body.shard)
        case .secAggUnmaskResponse(let m): (m.body.roundId, m.body.shard)
        default: nil
        }
    }

    /// A stage message from the wire as the protocol's event; nil when it is not one, its bytes
    /// are not canonical, or it names a point no member stands behind.
    func event(_ message: AnyMessage) -> SecAggShardEvent? {
        let book = self.book ?? SecAggPointBook()
        switch message {
        case .secAggKeys(let m):
            return AdvertisedKeys(wire: m).map { .keysAdvertised($0) }
        case .secAggShares(let m):
            guard case .success(let shares) = EncryptedShare.shares(wire: m, book: book) else { return nil }
            return .sharesSent(shares)
        case .secAggMasked(let m):
            guard m.tensors.count == 1, let tensor = m.tensor(named: "masked"),
                let vector = ModularVector(tensor: tensor, bits: m.body.modulusBits, count: tensor.elementCount)
            else { return nil }
            return .maskedInput(vector)
        case .secAggUnmaskResponse(let m):
            guard case .success(let response) = UnmaskResponse.from(wire: m, book: book) else { return nil }
            return .unmasking(response)
        default:
            return nil
        }
    }

    // MARK: Actions

    private mutating func refuse(
        _ reason: RejectReason,
        _ sender: String,
        _ roundId: Int?,
        _ detail: String
    )
        -> [SecAggShardAction]
    {
        if !sent { rejected[reason, default: 0] += 1 }
        return [.reject(reason, sender: sender, roundId: roundId, detail: detail)]
    }

    private mutating func perform(
        _ actions: [SecAggServerAction],
        stageBefore: SecAggStage,
        region: DeviceClassName,
        shard: Int
    ) -> [SecAggShardAction] {
        var out: [SecAggShardAction] = []
        for action in actions {
            switch action {
            case .announceNeighbours(let to, let announcement):
                guard let wire = announcement.wire(roundId: roundId, shard: shard, recipient: to) else { continue }
                out.append(.send(to: to, .neighbours(wire)))
            case .forwardShares(let to, let shares):
                guard let book,
                    let framed = EncryptedShare.wire(
                        shares,
                        holder: to,
                        sealedByHolder: false,
                        roundId: roundId,
                        shard: shard,
                        book: book
                    )
                else { continue }
                out.append(.send(to: to, .shares(framed)))
            case .requestUnmasking(let to, let request):
                guard let book, let framed = request.wire(roundId: roundId, shard: shard, recipient: to, book: book)
                else { continue }
                out.append(.send(to: to, .unmaskRequest(framed)))
            case .reject(let reason, let sender, let detail):
                out += refuse(reason, sender, roundId, detail)
            case .complete(let result):
                out += complete(result, region: region, shard: shard)
            case .fail(let failure):
                out.append(.failed(roundId: roundId, stage: stageBefore.rawValue, detail: Self.detail(failure)))
                out.append(emptyPartial(region: region, shard: shard))
            }
        }
        if let stage = round?.stage, stage != stageBefore, stage != .completed, stage != .failed {
            out.append(.stageOpened(roundId: roundId, stage: stage.rawValue, devices: expected(in: stage)))
        }
        return out
    }

    /// A failure as the shard logs it; too few survivors names the minimum it fell below.
    static func detail(_ failure: SecAggFailure) -> String {
        guard case .tooFewSurvivors(let stage, let count, let needed) = failure else { return "\(failure)" }
        return "\(count) survivors after \(stage.rawValue), fewer than the \(needed) the round needs"
    }

    /// The unmasked sum as a plain shard's partial: weight 1 per contribution, so the weight
    /// coordinate of the sum must equal the survivors (listed) or lie within 0…survivors
    /// (Poisson); anything else means a device lied about its weight, and the round fails
    /// rather than release a sum of unknown composition.
    private mutating func complete(_ result: SecAggResult, region: DeviceClassName, shard: Int) -> [SecAggShardAction] {
        let survivors = result.survivors.count
        func failure(_ detail: String) -> [SecAggShardAction] {
            [
                .failed(roundId: roundId, stage: SecAggStage.unmasking.rawValue, detail: detail),
                emptyPartial(region: region, shard: shard),
            ]
        }
        if let minimum = settings?.skellam?.minimumSurvivors, survivors < minimum {
            // The noise in the sum is Sk(survivors·μ): fewer than the approved minimum would
            // release a sum less private than the auditor charged for. The server already stops
            // before unmasking so few (`make`); this second line keeps the release rule local.
            return failure("\(survivors) survivors, fewer than the \(minimum) the Skellam round needs")
        }
        guard let quantizer, let settings, let server = round?.server,
            let decoded = decode(result.sum, survivors: survivors, quantizer: quantizer)
        else { return failure("the unmasked sum does not decode") }
        guard
            selfSampled
                ? decoded.weightSum <= Int64(survivors)
                : decoded.weightSum == Int64(survivors)
        else { return failure("the weight sum is not the survivors' count") }
        sent = true
        // Under Skellam every survivor's input is in the sum (a member that did not sample
        // itself adds a zero delta and its noise), and the auditor settles the round on exactly
        // those inputs: the contributors are the survivors, the weight sum the sampled updates.
        let contributors = skellam == nil ? Int(decoded.weightSum) : survivors
        let configuration = quantizer.configuration
        let record = SecureAggregationRecord(
            deviceClass: region.rawValue,
            shard: shard,
            survivors: result.survivors.count,
            advertised: server.advertisedCount,
            degree: configuration.degree,
            threshold: configuration.threshold,
            modulusBits: configuration.modulusBits,
            valueBits: settings.skellam?.valueBits ?? settings.valueBits
        )
        let body = Partial(
            roundId: roundId,
            modelVersion: modelVersion,
            region: region,
            shard: shard,
            contributors: contributors,
            weightSum: Double(decoded.weightSum),
            members: selfSampled ? [] : result.survivors,
            metrics: nil,
            rejected: rejectedByName,
            clippedCount: 0,
            bytesUp: bytes,
            secureAggregation: record
        )
        return [.sendPartial(body, tensors: [Tensor.f32le(name: "sum", decoded.sum)])]
    }

    /// The float sum and the weight sum: the Skellam decoder's (÷γ) for a `skellam` round, the
    /// quantizer's otherwise; nil for a sum no honest set of survivors can produce.
    private func decode(
        _ sum: ModularVector,
        survivors: Int,
        quantizer: SecAggQuantizer
    ) -> (sum: [Float], weightSum: Int64)? {
        guard let skellam else { return quantizer.dequantizeWeighted(sum) }
        let signed = sum.signedValues
        guard let weightSum = signed.last, weightSum >= 0,
            let decoded = skellam.decode(sum: Array(signed.dropLast()), survivors: survivors)
        else { return nil }
        return (decoded, weightSum)
    }

    /// The partial of a round that released nothing: no contributors, a zero sum.
    mutating func emptyPartial(region: DeviceClassName, shard: Int) -> SecAggShardAction {
        sent = true
        let body = Partial(
            roundId: roundId,
            modelVersion: modelVersion,
            region: region,
            shard: shard,
            contributors: 0,
            weightSum: 0,
            members: [],
            rejected: rejectedByName,
            clippedCount: 0,
            bytesUp: bytes
        )
        return .sendPartial(
            body,
            tensors: [Tensor.f32le(name: "sum", [Float](repeating: 0, count: max(0, parameterCount)))]
        )
    }

    private var rejectedByName: [String: Int] {
        Dictionary(uniqueKeysWithValues: rejected.map { ($0.key.rawValue, $0.value) })
    }

    private func expected(in stage: SecAggStage) -> Int { round?.server.expectedInStage ?? 0 }
}
