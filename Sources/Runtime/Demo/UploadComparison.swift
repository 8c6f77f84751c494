import Wire

/// What a round's uploads would have cost as plain f32, so a compressed run shows its ratio to
/// f32 without a second run.
///
/// Why whole messages and not 4·d per contributor: at the demo's default model (logistic
/// regression, tens of parameters) the JSON header is most of an update, and a tensor-only
/// reference would claim that plain f32 costs several times "f32". The reference is one f32
/// `update` of this model as the codec writes it (the header as the run sends it, metrics
/// included when DP is off, one `delta` frame) per contributor, plus one decline per population
/// member that did not contribute in a Poisson round (DP on: every device answers). A header
/// differs by a few bytes between workers, so the ratio is exact to about a percent.
struct UploadComparison: Sendable {
    /// One f32 update of this model on the wire. The sample's numbers have as many digits as
    /// a real worker's doubles, since the JSON header spells them out.
    let f32UpdateBytes: Int
    /// One decline on the wire; 0 when rounds are listed cohorts (no declines).
    let declineBytes: Int
    /// Devices answering every Poisson round; 0 for listed cohorts.
    let population: Int

    init(parameterCount: Int, population: Int, poisson: Bool) {
        let codec = WireCodec()
        let update = Update(
            roundId: 1,
            modelVersion: 1,
            workerId: "phone-10",
            deviceClass: .phone,
            shard: 0,
            weight: 60,
            norm: 2.0 / 3.0,
            clipped: false,
            metrics: poisson ? nil : MetricsSummary(examples: 60, loss: 1.0 / 3.0 + 0.1, accuracy: 5.0 / 6.0)
        )
        let delta = Tensor.f32le(name: "delta", [Float](repeating: 0.123_456, count: max(0, parameterCount)))
        let frames = (try? codec.encode(update, sender: "phone-10", sentAtMillis: 1_700_000_000_000, tensors: [delta]))
        f32UpdateBytes = frames?.reduce(0) { $0 + $1.count } ?? parameterCount * 4
        let decline = Update.decline(roundId: 1, modelVersion: 1, workerId: "phone-10", deviceClass: .phone, shard: 0)
        let declineFrames =
            poisson ? (try? codec.encode(decline, sender: "phone-10", sentAtMillis: 1_700_000_000_000)) : nil
        declineBytes = declineFrames?.reduce(0) { $0 + $1.count } ?? 0
        self.population = poisson ? population : 0
    }

    /// The round's uploads as f32 messages. In doubles: the counts come from the broadcast, and
    /// a ratio needs no exact integer.
    func f32Bytes(_ record: RoundRecord) -> Double {
        let contributors = max(0, record.contributors)
        return Double(contributors) * Double(f32UpdateBytes) + Double(max(0, population - contributors))
            * Double(declineBytes)
    }

    /// Bytes up ÷ the f32 reference, summed over `records`; nil without a reference.
    func ratio(_ records: [RoundRecord]) -> Double? {
        let reference = records.reduce(0.0) { $0 + f32Bytes($1) }
        guard reference > 0 else { return nil }
        return records.reduce(0.0) { $0 + Double($1.bytesUp) } / reference
    }
}
