internal import Wire

/// Who stops answering, and when, in an in-process run.
public struct SecAggDropoutPlan: Sendable, Hashable {
    /// Never advertise keys.
    public var beforeAdvertising: Set<String> = []
    /// Advertise keys, then vanish before sharing.
    public var afterAdvertising: Set<String> = []
    /// Share keys, then vanish before sending a masked input.
    public var afterSharing: Set<String> = []
    /// Send a masked input, then vanish before unmasking.
    public var afterMaskedInput: Set<String> = []

    public init(
        beforeAdvertising: Set<String> = [],
        afterAdvertising: Set<String> = [],
        afterSharing: Set<String> = [],
        afterMaskedInput: Set<String> = []
    ) {
        self.beforeAdvertising = beforeAdvertising
        self.afterAdvertising = afterAdvertising
        self.afterSharing = afterSharing
        self.afterMaskedInput = afterMaskedInput
    }
}

/// What an in-process run produced, and what it cost on the wire.
public struct SecAggSimulationReport: Sendable {
    public let outcome: Result<SecAggResult, SecAggFailure>
    public let server: SecAggServer
    /// Refusals by honest devices (empty in an honest run).
    public let clientRefusals: [String: SecAggClientError]
    /// Refusals by the shard (empty in an honest run).
    public let serverRejections: [SecAggServerAction]
    /// Bytes each device that advertised keys sent, summed over the stages (payloads: keys,
    /// ciphertexts, the packed masked vector, shares; ids counted as UTF-8).
    public let uploadBytes: [String: Int]
    /// Bytes the shard sent each device (announcements, forwarded ciphertexts, requests).
    public let downloadBytes: [String: Int]
    /// Bytes each device sent as encoded `secagg.*` messages (all frames: topic, JSON header
    /// with hex fields, and the masked vector as exact-integer `f32le`).
    public let wireUploadBytes: [String: Int]
    /// Bytes of the encoded `secagg.*` messages the shard sent each device.
    public let wireDownloadBytes: [String: Int]
}

/// Encoded sizes of the `secagg.*` messages, for the byte counts of a simulated round.
private struct WireMeter {
    let codec = WireCodec()
    var up: [String: Int] = [:]
    var down: [String: Int] = [:]

    static func size(_ frames: [[UInt8]]?) -> Int { frames?.reduce(0) { $0 + $1.count } ?? 0 }

    mutating func sent<B: MessageBody>(_ body: B, by id: String, tensors: [Tensor] = []) {
        up[id, default: 0] += Self.size(try? codec.encode(body, sender: id, tensors: tensors))
    }

    mutating func sent<B: MessageBody>(_ framed: SecAggFramed<B>, by id: String) {
        sent(framed.body, by: id, tensors: framed.tensors)
    }

    mutating func received<B: MessageBody>(_ body: B, by id: String, tensors: [Tensor] = []) {
        down[id, default: 0] += Self.size(try? codec.encode(body, sender: "shard", tensors: tensors))
    }

    mutating func received<B: MessageBody>(_ framed: SecAggFramed<B>, by id: String) {
        received(framed.body, by: id, tensors: framed.tensors)
    }
}

/// Runs one SecAgg+ round between a `SecAggServer` and honest `SecAggClient`s in memory: the
/// protocol without sockets, for tests and for the expansion-factor benchmark. A stage closes
/// when every live device answered, or by `deadlinePassed()` once nobody else will.
public enum SecAggSimulation {
    public static func run(
        roundId: String,
        configuration: SecAggConfiguration,
        inputs: [String: ModularVector],
        dropouts: SecAggDropoutPlan = SecAggDropoutPlan(),
        minimumSurvivors: Int = 0,
        recordsObservations: Bool = false,
        using generator: inout some RandomNumberGenerator
    ) throws(SecAggKeyError) -> SecAggSimulationReport? {
        let ids = inputs.keys.sorted()
        guard let graph = NeighbourGraph.random(members: ids, degree: configuration.degree, using: &generator),
            var server = SecAggServer(
                roundId: roundId,
                configuration: configuration,
                graph: graph,
                minimumSurvivors: minimumSurvivors,
                recordsObservations: recordsObservations
            )
        else { return nil }
        var clients: [String: SecAggClient] = [:]
        for id in ids {
            clients[id] = try SecAggClient(id: id, roundId: roundId, configuration: configuration, using: &generator)
        }
        var refusals: [String: SecAggClientError] = [:]
        var rejections: [SecAggServerAction] = []
        var upload: [String: Int] = [:]
        var download: [String: Int] = [:]
        var meter = WireMeter()
        var outcome: Result<SecAggResult, SecAggFailure>?
        var queue: [SecAggServerAction] = []
        // Every end names devices by the same points (the graph's), so one book serves all.
        let book = SecAggPointBook(graph: server.graph)
        let point = SecAggRecords.point
        for id in ids where !dropouts.beforeAdvertising.contains(id) {
            guard let keys = clients[id]?.advertisedKeys() else { continue }
            upload[id, default: 0] += keys.cipherPublicKey.count + keys.maskPublicKey.count
            meter.sent(keys.wire(roundId: 1, shard: 0), by: id)
            queue += server.keysAdvertised(keys, from: id)
        }
        let silentAt: [SecAggStage: Set<String>] = [
            .shareKeys: dropouts.afterAdvertising,
            .maskedInput: dropouts.afterSharing.union(dropouts.afterAdvertising),
            .unmasking: dropouts.afterMaskedInput.union(dropouts.afterSharing).union(dropouts.afterAdvertising),
        ]
        var deadlines = 0
        while outcome == nil {
            if queue.isEmpty {
                guard deadlines < 8 else { break }
                deadlines += 1
                queue = server.deadlinePassed()
                continue
            }
            let action = queue.removeFirst()
            switch action {
            case .announceNeighbours(let id, let announcement):
                download[id, default: 0] += announcement.neighbours.reduce(8) { $0 + 72 + $1.id.utf8.count }
                if let body = announcement.wire(roundId: 1, shard: 0, recipient: id) { meter.received(body, by: id) }
                guard !(silentAt[.shareKeys] ?? []).contains(id), var client = clients[id] else { continue }
                do {
                    let shares = try client.neighboursAnnounced(announcement, using: &generator)
                    upload[id, default: 0] += shares.reduce(0) { total, share in total + share.ciphertext.count + point
                    }
                    let framed = EncryptedShare.wire(
                        shares,
                        holder: id,
                        sealedByHolder: true,
                        roundId: 1,
                        shard: 0,
                        book: book
                    )
                    if let framed { meter.sent(framed, by: id) }
                    clients[id] = client
                    queue += server.sharesSent(shares, from: id)
                } catch {
                    refusals[id] = error
                    clients[id] = client
                }
            case .forwardShares(let id, let shares):
                download[id, default: 0] += shares.reduce(0) { total, share in total + share.ciphertext.count + point }
                let framed = EncryptedShare.wire(
                    shares,
                    holder: id,
                    sealedByHolder: false,
                    roundId: 1,
                    shard: 0,
                    book: book
                )
                if let framed { meter.received(framed, by: id) }
                guard !(silentAt[.maskedInput] ?? []).contains(id), var client = clients[id], let input = inputs[id]
                else { continue }
                do {
                    let masked = try client.sharesForwarded(shares, input: input)
                    upload[id, default: 0] += masked.packed.count
                    meter.sent(
                        SecAggMasked(roundId: 1, shard: 0, modulusBits: masked.bits),
                        by: id,
                        tensors: masked.tensor().map { [$0] } ?? []
                    )
                    clients[id] = client
                    queue += server.maskedInputReceived(masked, from: id)
                } catch {
                    refusals[id] = error
                    clients[id] = client
                }
            case .requestUnmasking(let id, let request):
                download[id, default: 0] += (request.survivors.count + request.dropped.count) * point
                if let framed = request.wire(roundId: 1, shard: 0, recipient: id, book: book) {
                    meter.received(framed, by: id)
                }
                guard !(silentAt[.unmasking] ?? []).contains(id), var client = clients[id] else { continue }
                do {
                    let response = try client.unmaskRequested(request)
                    let shares = Array(response.selfMaskSeedShares) + Array(response.maskKeyShares)
                    upload[id, default: 0] += shares.count * (ShamirShare.byteCount + point)
                    if let framed = response.wire(roundId: 1, shard: 0, book: book) { meter.sent(framed, by: id) }
                    clients[id] = client
                    queue += server.unmaskingReceived(response, from: id)
                } catch {
                    refusals[id] = error
                    clients[id] = client
                }
            case .complete(let result): outcome = .success(result)
            case .fail(let failure): outcome = .failure(failure)
            case .reject: rejections.append(action)
            }
        }
        return SecAggSimulationReport(
            outcome: outcome ?? .failure(.tooFewSurvivors(stage: server.stage, count: 0, needed: minimumSurvivors)),
            server: server,
            clientRefusals: refusals,
            serverRejections: rejections,
            uploadBytes: upload,
            downloadBytes: download,
            wireUploadBytes: meter.up,
            wireDownloadBytes: meter.down
        )
    }
}
