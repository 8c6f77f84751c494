/// Bytes on the wire for one in-process SecAgg+ round, against the plain update it replaces.
public struct SecAggBenchmarkReport: Sendable {
    public let devices: Int
    public let parameters: Int
    public let bitsPerValue: Int
    public let modulusBits: Int
    public let degree: Int
    public let threshold: Int
    public let survivors: Int
    /// Mean bytes a surviving device sent over all four stages.
    public let meanUploadBytes: Double
    /// Mean bytes the shard sent a surviving device.
    public let meanDownloadBytes: Double
    /// The same update sent in the clear at `bitsPerValue` bits per value (Bonawitz et al.
    /// 2017's baseline for their 1.73× at 16-bit inputs).
    public let plainQuantizedBytes: Int
    /// The same update as FedPulse sends it without SecAgg (`f32le`, 4 bytes per value).
    public let plainFloatBytes: Int
    /// Mean bytes a surviving device sent as encoded `secagg.*` messages (JSON with hex
    /// fields, the masked vector as a `ubits` tensor packed at b bits a value).
    public let meanWireUploadBytes: Double
    /// True when the released sum equals the plain sum of the survivors' inputs.
    public let exact: Bool

    /// Upload over the plain quantized update: the target is ≤ 2 at 10^5 parameters
    /// and 100 devices.
    public var expansion: Double { meanUploadBytes / Double(plainQuantizedBytes) }
    /// Upload over today's `f32le` update.
    public var expansionOverFloat: Double { meanUploadBytes / Double(plainFloatBytes) }
    /// Encoded `secagg.*` upload over today's `f32le` update.
    public var wireExpansionOverFloat: Double { meanWireUploadBytes / Double(plainFloatBytes) }
}

/// The expansion-factor benchmark the lead's `make bench` calls (in-process: no sockets, so it
/// measures the protocol's bytes, not the transport's). The caller times `run` with its own clock.
public enum SecAggBenchmark {
    /// One round over `devices` devices with `parameters` values each; degree and threshold
    /// come from `GraphParameterFinder` for the given rates, and a `dropoutRate` share of the
    /// devices actually vanishes after sharing keys (the stage that costs the shard most).
    public static func run(
        devices: Int = 100,
        parameters: Int = 100_000,
        bitsPerValue: Int = 16,
        dropoutRate: Double = 0.1,
        threatModel: SecAggThreatModel = SecAggThreatModel(corruptRate: 0.05, dropoutRate: 0.33),
        using generator: inout some RandomNumberGenerator
    ) throws -> SecAggBenchmarkReport {
        let graph = try GraphParameterFinder.parameters(cohortSize: devices, threatModel: threatModel)
        let configuration = try SecAggConfiguration(
            bitsPerValue: bitsPerValue,
            modulusBits: SecAggConfiguration.requiredModulusBits(bitsPerValue: bitsPerValue, cohortSize: devices),
            cohortSize: devices,
            vectorLength: parameters,
            degree: graph.degree,
            threshold: graph.threshold
        )
        let ids = (0..<devices).map { "device-\($0)" }
        let largest = (UInt64(1) << UInt64(bitsPerValue - 1)) - 1
        var inputs: [String: ModularVector] = [:]
        for id in ids {
            let values = (0..<parameters).map { _ in UInt64.random(in: 0...largest, using: &generator) }
            inputs[id] = ModularVector(bits: configuration.modulusBits, values: values)
        }
        let dropped = Set(ids.prefix(Int((dropoutRate * Double(devices)).rounded(.down))))
        guard
            let report = try SecAggSimulation.run(
                roundId: "bench",
                configuration: configuration,
                inputs: inputs,
                dropouts: SecAggDropoutPlan(afterSharing: dropped),
                using: &generator
            )
        else { throw SecAggConfigurationError.outOfRange("graph") }
        let result = try report.outcome.get()
        var plain = ModularVector.zero(bits: configuration.modulusBits, count: parameters)
        for id in result.survivors { if let input = inputs[id] { plain?.add(input.values) } }
        // Averaged over the devices whose inputs are in the sum: the ones that paid every stage.
        let senders = max(result.survivors.count, 1)
        let upload = result.survivors.reduce(0) { $0 + (report.uploadBytes[$1] ?? 0) }
        let download = result.survivors.reduce(0) { $0 + (report.downloadBytes[$1] ?? 0) }
        let wireUpload = result.survivors.reduce(0) { $0 + (report.wireUploadBytes[$1] ?? 0) }
        return SecAggBenchmarkReport(
            devices: devices,
            parameters: parameters,
            bitsPerValue: bitsPerValue,
            modulusBits: configuration.modulusBits,
            degree: graph.degree,
            threshold: graph.threshold,
            survivors: result.survivors.count,
            meanUploadBytes: Double(upload) / Double(senders),
            meanDownloadBytes: Double(download) / Double(senders),
            plainQuantizedBytes: (parameters * bitsPerValue + 7) / 8,
            plainFloatBytes: parameters * 4,
            meanWireUploadBytes: Double(wireUpload) / Double(senders),
            exact: plain == result.sum
        )
    }
}
