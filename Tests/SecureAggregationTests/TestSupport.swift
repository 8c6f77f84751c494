import Learning

@testable import SecureAggregation

/// Replays fixed bytes (as little-endian words), to build keys from published test vectors.
struct FixedBytes: RandomNumberGenerator {
    var words: [UInt64]

    init(_ bytes: [UInt8]) {
        words = stride(from: 0, to: bytes.count, by: 8).map { start in
            (0..<8).reduce(0) { $0 | UInt64(bytes[start + $1]) << UInt64(8 * $1) }
        }
    }

    mutating func next() -> UInt64 { words.isEmpty ? 0 : words.removeFirst() }
}

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
        index = next
    }
    return bytes
}

/// Random signed values of `bitsPerValue` bits, encoded mod 2^modulusBits as devices send them.
func randomInputs(
    ids: [String],
    configuration: SecAggConfiguration,
    using generator: inout some RandomNumberGenerator
) -> [String: ModularVector] {
    let largest = (Int64(1) << Int64(configuration.bitsPerValue - 1)) - 1
    let mask = ModularVector.mask(configuration.modulusBits)
    var inputs: [String: ModularVector] = [:]
    for id in ids {
        let values = (0..<configuration.vectorLength).map { _ in
            UInt64(bitPattern: Int64.random(in: -largest...largest, using: &generator)) & mask
        }
        inputs[id] = ModularVector(bits: configuration.modulusBits, values: values)
    }
    return inputs
}

/// The plain sum mod 2^b of the listed devices' inputs: what the unmasked sum must equal.
func plainSum(_ inputs: [String: ModularVector], of ids: [String], configuration: SecAggConfiguration) -> ModularVector?
{
    guard var sum = ModularVector.zero(bits: configuration.modulusBits, count: configuration.vectorLength) else {
        return nil
    }
    for id in ids { if let vector = inputs[id] { sum.add(vector.values) } }
    return sum
}

func deviceIds(_ count: Int) -> [String] { (0..<count).map { "watch-\($0)" } }

/// One honest in-process round over `devices` watches with random 16-bit inputs.
func simulate(
    devices: Int,
    degree: Int,
    threshold: Int,
    seed: UInt64,
    dropouts: SecAggDropoutPlan = SecAggDropoutPlan(),
    minimumSurvivors: Int = 0,
    recordsObservations: Bool = false
) throws -> (report: SecAggSimulationReport?, inputs: [String: ModularVector], configuration: SecAggConfiguration) {
    let configuration = try SecAggConfiguration(
        bitsPerValue: 16,
        modulusBits: SecAggConfiguration.requiredModulusBits(bitsPerValue: 16, cohortSize: devices),
        cohortSize: devices,
        vectorLength: 24,
        degree: degree,
        threshold: threshold
    )
    var generator = SeededGenerator(seed: seed)
    let inputs = randomInputs(ids: deviceIds(devices), configuration: configuration, using: &generator)
    let report = try SecAggSimulation.run(
        roundId: "round-\(seed)",
        configuration: configuration,
        inputs: inputs,
        dropouts: dropouts,
        minimumSurvivors: minimumSurvivors,
        recordsObservations: recordsObservations,
        using: &generator
    )
    return (report, inputs, configuration)
}
