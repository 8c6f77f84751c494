public import Wire
public import ZeroMQ

/// Builds the `update` messages a misbehaving or malicious peer might PUSH to a shard: valid ones
/// to replay, and ones broken in each way the shard must refuse.
///
/// Broken messages are made by editing the frames of a valid one, since `WireCodec` refuses to
/// encode most of them (a NaN, a frame that disagrees with its descriptor).
public struct UpdateForgery: Sendable {
    public let roundId: Int
    public let modelVersion: Int
    public let parameterCount: Int
    public let region: DeviceClassName
    public let shard: Int
    let codec = WireCodec()

    /// Targets the round and shard of `open`; `nil` when `open` has no weights tensor.
    public init?(open: Message<RoundOpen>, region: DeviceClassName, shard: Int = 0) {
        guard let weights = open.tensor(named: "weights") else { return nil }
        roundId = open.body.roundId
        modelVersion = open.body.modelVersion
        parameterCount = weights.elementCount
        self.region = region
        self.shard = shard
    }

    /// A well-formed update (a zero delta) as `workerId` would send it, with any field changed.
    ///
    /// - Parameters:
    ///   - sha256: the digest to claim for the delta (nil: none, as honest edges send it).
    ///   - sender: the header's sender, when it is not `workerId` itself.
    public func update(
        workerId: String,
        roundId: Int? = nil,
        modelVersion: Int? = nil,
        elements: Int? = nil,
        value: Float = 0,
        deviceClass: DeviceClassName? = nil,
        shard: Int? = nil,
        weight: Double = 10,
        metrics: MetricsSummary? = nil,
        sha256: String? = nil,
        sender: String? = nil
    ) throws -> [[UInt8]] {
        let body = Update(
            roundId: roundId ?? self.roundId,
            modelVersion: modelVersion ?? self.modelVersion,
            workerId: workerId,
            deviceClass: deviceClass ?? region,
            shard: shard ?? self.shard,
            weight: weight,
            norm: 0,
            clipped: false,
            metrics: metrics
        )
        var delta = Tensor.f32le(name: "delta", [Float](repeating: value, count: elements ?? parameterCount))
        delta.sha256 = sha256
        return try codec.encode(body, sender: sender ?? workerId, sentAtMillis: nil, tensors: [delta])
    }

    /// A well-formed `partial` for shard `shard` of `region` in this round, as its aggregator
    /// would send it (or as `sender` forges it): `members` contributed, every sum element `value`.
    public func partial(
        region: DeviceClassName? = nil,
        shard: Int? = nil,
        members: [String],
        contributors: Int? = nil,
        value: Float = 0,
        sender: String
    ) throws -> [[UInt8]] {
        let body = Partial(
            roundId: roundId,
            modelVersion: modelVersion,
            region: region ?? self.region,
            shard: shard ?? self.shard,
            contributors: contributors ?? members.count,
            weightSum: Double(members.count),
            members: members,
            clippedCount: 0
        )
        let sum = Tensor.f32le(name: "sum", [Float](repeating: value, count: parameterCount))
        return try codec.encode(body, sender: sender, sentAtMillis: nil, tensors: [sum])
    }

    /// A valid update whose delta frame is replaced by the same number of NaN elements.
    public func nonFinite(workerId: String) throws -> [[UInt8]] {
        var frames = try update(workerId: workerId)
        frames[2] = Tensor.f32le(name: "delta", [Float](repeating: 1, count: parameterCount)).bytes
        // 0x7fc00000 is the quiet NaN, little-endian.
        for offset in stride(from: 0, to: frames[2].count, by: 4) {
            frames[2][offset] = 0x00
            frames[2][offset + 1] = 0x00
            frames[2][offset + 2] = 0xC0
            frames[2][offset + 3] = 0x7F
        }
        return frames
    }

    /// A valid update whose delta frame is `extraBytes` longer than its descriptor says.
    public func wrongFrameLength(workerId: String, extraBytes: Int = 4) throws -> [[UInt8]] {
        var frames = try update(workerId: workerId)
        frames[2] += [UInt8](repeating: 0, count: extraBytes)
        return frames
    }

    /// A valid update with `count` extra, undeclared tensor frames appended.
    public func extraFrames(workerId: String, count: Int) throws -> [[UInt8]] {
        let frames = try update(workerId: workerId)
        return frames + Array(repeating: [UInt8](repeating: 0, count: 4), count: count)
    }

    /// A valid update whose header is padded (with JSON whitespace) to at least `bytes` bytes.
    public func paddedHeader(workerId: String, bytes: Int) throws -> [[UInt8]] {
        var frames = try update(workerId: workerId)
        let padding = max(0, bytes - frames[1].count)
        // Whitespace before the closing brace keeps the header strict JSON.
        if let close = frames[1].lastIndex(of: UInt8(ascii: "}")) {
            frames[1].insert(contentsOf: [UInt8](repeating: UInt8(ascii: " "), count: padding), at: close)
        }
        return frames
    }
}

/// PUSHes raw frames to an endpoint from a socket of its own, as a peer outside FedPulse would.
public enum RawPush {
    /// Sends `messages` in order on one fresh connection and waits (up to `lingerMillis`) until
    /// they have left; runs on its own thread.
    ///
    /// With `curve`, the socket is a CURVE client with that key pair of the server whose public
    /// key is given: an enrolled insider, or a stranger who learned the server's public key.
    public static func send(
        _ messages: [[[UInt8]]],
        to endpoint: String,
        lingerMillis: Int32 = 3_000,
        curve: (keys: CurveKeyPair, serverKey: String)? = nil
    ) async throws {
        try await onOwnThread("e2e-rogue") {
            let context = try Context()
            do {
                let socket = try Socket(context, type: .push)
                try socket.setLinger(lingerMillis)
                if let curve { try socket.makeCurveClient(serverPublicKey: curve.serverKey, keys: curve.keys) }
                try socket.connect(endpoint)
                for frames in messages {
                    _ = try socket.send(frames)
                }
            }
            // Leaving the scope closed the socket; the context's deinit now waits, up to the
            // linger, until the queued messages are written.
        }
    }
}
