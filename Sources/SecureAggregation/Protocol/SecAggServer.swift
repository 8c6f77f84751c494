public import Wire

/// Why a round failed; the shard counts it, logs it and retries the round.
public enum SecAggFailure: Error, Sendable, Hashable {
    /// Fewer devices than `minimumSurvivors` remain after a stage.
    case tooFewSurvivors(stage: SecAggStage, count: Int, needed: Int)
    /// A device's secret has fewer holders left than the threshold: its masks cannot be removed.
    case notEnoughShares(owner: String, have: Int, need: Int)
    /// Rebuilt shares do not give back the advertised key (a holder sent a wrong share).
    case reconstructionFailed(owner: String)
}

/// What the sum was made of: the securely counted survivors are what a distributed-DP
/// accountant must use, not the expected cohort.
public struct SecAggResult: Sendable, Hashable {
    public let sum: ModularVector
    /// Devices whose inputs are in `sum`.
    public let survivors: [String]
    /// Devices that shared keys but sent no input; their pairwise masks were rebuilt and removed.
    public let droppedAfterSharing: [String]
}

/// What the shard should do next.
public enum SecAggServerAction: Sendable, Hashable {
    case announceNeighbours(to: String, NeighbourAnnouncement)
    case forwardShares(to: String, [EncryptedShare])
    case requestUnmasking(to: String, UnmaskRequest)
    case complete(SecAggResult)
    case fail(SecAggFailure)
    case reject(RejectReason, sender: String, detail: String)
}

/// What the shard saw, kept only when asked, so a test can show that no entry is one device's
/// unmasked vector and that no device had both of its secrets rebuilt.
public enum SecAggObservation: Sendable, Hashable {
    case maskedInput(from: String, ModularVector)
    case selfMaskSeedRebuilt(owner: String, [UInt8])
    case maskKeyRebuilt(owner: String, [UInt8])
}

/// The shard's side of SecAgg+ for one round, as a pure state machine.
///
/// It keeps the running masked sum (O(model), never one vector per device), the key material
/// devices advertised, and the shares returned for unmasking. Stages close when every expected
/// device answered or on `deadlinePassed()`; a stage that leaves too few devices, or a secret
/// with fewer than `threshold` holders, fails the round cleanly instead of releasing a sum that
/// still carries masks.
public struct SecAggServer: Sendable {
    public let roundId: String
    public let configuration: SecAggConfiguration
    public let graph: NeighbourGraph
    public let minimumSurvivors: Int
    public internal(set) var stage: SecAggStage = .advertiseKeys
    /// Devices whose keys were accepted this round (the record's `advertised`).
    public var advertisedCount: Int { advertised.count }
    /// Devices that may still answer in the current stage (for the shell's stage log lines).
    public var expectedInStage: Int {
        switch stage {
        case .advertiseKeys: graph.ring.count
        case .shareKeys: announced.count
        case .maskedInput: forwardedTo.count
        case .unmasking: requests.count
        case .completed, .failed: 0
        }
    }

    var advertised: [String: AdvertisedKeys] = [:]
    /// Devices sent a neighbour announcement (U1 with enough live neighbours).
    var announced: [String: [String]] = [:]
    var sharesBySender: [String: [EncryptedShare]] = [:]
    /// Devices sent forwarded shares; their masked inputs are accepted (from U2).
    var forwardedTo: Set<String> = []
    var inputs: Set<String> = []
    var sum: ModularVector
    var requests: [String: UnmaskRequest] = [:]
    var responded: Set<String> = []
    var seedShares: [String: [ShamirShare]] = [:]
    var keyShares: [String: [ShamirShare]] = [:]
    var keyTargets: Set<String> = []
    /// Whose self-mask seed and whose mask key were rebuilt: disjoint, or the shard could unmask.
    public internal(set) var rebuiltSeedOwners: Set<String> = []
    public internal(set) var rebuiltKeyOwners: Set<String> = []
    let recordsObservations: Bool
    package internal(set) var _observations: [SecAggObservation] = []

    /// `minimumSurvivors` is clamped to at least threshold + 1 (fewer cannot give anyone t
    /// live neighbours). `recordsObservations` keeps every masked input: tests only.
    public init?(
        roundId: String,
        configuration: SecAggConfiguration,
        graph: NeighbourGraph,
        minimumSurvivors: Int,
        recordsObservations: Bool = false
    ) {
        guard graph.ring.count == configuration.cohortSize, graph.degree == configuration.degree,
            let zero = ModularVector.zero(bits: configuration.modulusBits, count: configuration.vectorLength)
        else { return nil }
        self.roundId = roundId
        self.configuration = configuration
        self.graph = graph
        self.minimumSurvivors = max(minimumSurvivors, configuration.threshold + 1)
        self.recordsObservations = recordsObservations
        self.sum = zero
    }

    // MARK: Events

    public mutating func keysAdvertised(_ keys: AdvertisedKeys, from sender: String) -> [SecAggServerAction] {
        if let refusal = gate(
            sender,
            stage: .advertiseKeys,
            member: graph.contains(sender),
            seen: advertised[sender] != nil
        ) {
            return [refusal]
        }
        guard keys.isWellFormed else { return [.reject(.malformedHeader, sender: sender, detail: "key length")] }
        advertised[sender] = keys
        return advertised.count == graph.ring.count ? closeAdvertising() : []
    }

    public mutating func sharesSent(_ shares: [EncryptedShare], from sender: String) -> [SecAggServerAction] {
        let expected = announced[sender]
        if let refusal = gate(sender, stage: .shareKeys, member: expected != nil, seen: sharesBySender[sender] != nil) {
            return [refusal]
        }
        // Once to each announced neighbour: as many shares as neighbours, none repeated, each to
        // one of them (one set of the recipients, not three).
        let recipients = Set(shares.map(\.recipient))
        let neighbours = expected ?? []
        guard shares.allSatisfy({ $0.sender == sender && $0.ciphertext.count == EncryptedShare.ciphertextByteCount }),
            recipients.count == shares.count, shares.count == neighbours.count,
            neighbours.allSatisfy(recipients.contains)
        else { return [.reject(.malformedHeader, sender: sender, detail: "shares must go once to each neighbour")] }
        sharesBySender[sender] = shares
        return sharesBySender.count == announced.count ? closeSharing() : []
    }

    public mutating func maskedInputReceived(_ input: ModularVector, from sender: String) -> [SecAggServerAction] {
        let member = forwardedTo.contains(sender)
        if let refusal = gate(sender, stage: .maskedInput, member: member, seen: inputs.contains(sender)) {
            return [refusal]
        }
        guard input.bits == configuration.modulusBits, input.values.count == configuration.vectorLength else {
            return [.reject(.shapeMismatch, sender: sender, detail: "modulus or length")]
        }
        inputs.insert(sender)
        sum.add(input.values)
        if recordsObservations { _observations.append(.maskedInput(from: sender, input)) }
        return inputs.count == forwardedTo.count ? closeCollecting() : []
    }

    public mutating func unmaskingReceived(_ response: UnmaskResponse, from sender: String) -> [SecAggServerAction] {
        let request = requests[sender]
        if let refusal = gate(sender, stage: .unmasking, member: request != nil, seen: responded.contains(sender)) {
            return [refusal]
        }
        // Exactly the requested owners: the request's lists hold no repeats (the server made
        // them from one neighbour list), so equal counts and every one present is set equality.
        guard let request, let point = graph.point(of: sender),
            response.selfMaskSeedShares.count == request.survivors.count,
            request.survivors.allSatisfy({ response.selfMaskSeedShares[$0] != nil }),
            response.maskKeyShares.count == request.dropped.count,
            request.dropped.allSatisfy({ response.maskKeyShares[$0] != nil }),
            response.selfMaskSeedShares.values.allSatisfy({ $0.x == point && $0.values.count == 8 }),
            response.maskKeyShares.values.allSatisfy({ $0.x == point && $0.values.count == 8 })
        else { return [.reject(.malformedHeader, sender: sender, detail: "shares other than requested")] }
        responded.insert(sender)
        for (owner, share) in response.selfMaskSeedShares { seedShares[owner, default: []].append(share) }
        for (owner, share) in response.maskKeyShares { keyShares[owner, default: []].append(share) }
        return everySecretHasThreshold ? finish() : []
    }

    /// The current stage's deadline: close it with whoever answered.
    public mutating func deadlinePassed() -> [SecAggServerAction] {
        switch stage {
        case .advertiseKeys: return closeAdvertising()
        case .shareKeys: return closeSharing()
        case .maskedInput: return closeCollecting()
        case .unmasking:
            if everySecretHasThreshold { return finish() }
            let short = inputs.union(keyTargets).sorted().first { shareCount($0) < configuration.threshold }
            let owner = short ?? ""
            return fail(.notEnoughShares(owner: owner, have: shareCount(owner), need: configuration.threshold))
        case .completed, .failed: return []
        }
    }

    // MARK: Stage transitions

    private func gate(_ sender: String, stage expected: SecAggStage, member: Bool, seen: Bool) -> SecAggServerAction? {
        guard stage == expected else { return .reject(.roundClosed, sender: sender, detail: "stage \(stage.rawValue)") }
        guard member else {
            return .reject(.notInCohort, sender: sender, detail: "not expected in \(expected.rawValue)")
        }
        guard !seen else { return .reject(.duplicate, sender: sender, detail: expected.rawValue) }
        return nil
    }

    mutating func fail(_ failure: SecAggFailure) -> [SecAggServerAction] {
        stage = .failed
        return [.fail(failure)]
    }

    private mutating func closeAdvertising() -> [SecAggServerAction] {
        var actions: [SecAggServerAction] = []
        for id in graph.ring where advertised[id] != nil {
            let live = graph.neighbours(of: id).filter { advertised[$0] != nil }
            guard live.count >= configuration.threshold, let point = graph.point(of: id) else { continue }
            announced[id] = live
            let neighbours = live.compactMap { peer in
                advertised[peer].flatMap { keys in
                    graph.point(of: peer).map { AnnouncedNeighbour(id: peer, point: $0, keys: keys) }
                }
            }
            actions.append(
                .announceNeighbours(
                    to: id,
                    NeighbourAnnouncement(roundId: roundId, ownPoint: point, neighbours: neighbours)
                )
            )
        }
        guard announced.count >= minimumSurvivors else {
            return fail(.tooFewSurvivors(stage: .advertiseKeys, count: announced.count, needed: minimumSurvivors))
        }
        stage = .shareKeys
        return actions
    }

    private mutating func closeSharing() -> [SecAggServerAction] {
        var actions: [SecAggServerAction] = []
        // Each sender's shares by recipient, once, instead of a scan per (recipient, sender).
        var byRecipient: [String: [String: EncryptedShare]] = [:]
        for (sender, shares) in sharesBySender {
            byRecipient[sender] = Dictionary(shares.map { ($0.recipient, $0) }, uniquingKeysWith: { first, _ in first })
        }
        for id in graph.ring where sharesBySender[id] != nil {
            let incoming = (announced[id] ?? []).compactMap { peer in byRecipient[peer]?[id] }
            guard incoming.count >= configuration.threshold else { continue }
            forwardedTo.insert(id)
            actions.append(.forwardShares(to: id, incoming))
        }
        guard forwardedTo.count >= minimumSurvivors else {
            return fail(.tooFewSurvivors(stage: .shareKeys, count: forwardedTo.count, needed: minimumSurvivors))
        }
        stage = .maskedInput
        return actions
    }

    private mutating func closeCollecting() -> [SecAggServerAction] {
        guard inputs.count >= minimumSurvivors else {
            return fail(.tooFewSurvivors(stage: .maskedInput, count: inputs.count, needed: minimumSurvivors))
        }
        let sharers = Set(sharesBySender.keys)
        var actions: [SecAggServerAction] = []
        for id in graph.ring where inputs.contains(id) {
            let held = (announced[id] ?? []).filter { sharers.contains($0) }
            let request = UnmaskRequest(
                survivors: held.filter { inputs.contains($0) },
                dropped: held.filter { !inputs.contains($0) }
            )
            requests[id] = request
            keyTargets.formUnion(request.dropped)
            actions.append(.requestUnmasking(to: id, request))
        }
        // A secret whose live holders are already fewer than t can never be rebuilt: fail now.
        // Counted in one pass over the requests (k names each), not one pass per owner.
        var holders: [String: Int] = [:]
        for request in requests.values {
            for owner in request.survivors { holders[owner, default: 0] += 1 }
            for owner in request.dropped { holders[owner, default: 0] += 1 }
        }
        for owner in inputs.union(keyTargets).sorted() {
            let holders = holders[owner] ?? 0
            if holders < configuration.threshold {
                return fail(.notEnoughShares(owner: owner, have: holders, need: configuration.threshold))
            }
        }
        stage = .unmasking
        return actions
    }

    private func shareCount(_ owner: String) -> Int {
        inputs.contains(owner) ? seedShares[owner]?.count ?? 0 : keyShares[owner]?.count ?? 0
    }

    private var everySecretHasThreshold: Bool {
        inputs.allSatisfy { (seedShares[$0]?.count ?? 0) >= configuration.threshold }
            && keyTargets.allSatisfy { (keyShares[$0]?.count ?? 0) >= configuration.threshold }
    }
}
