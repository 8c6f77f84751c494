import Learning
import Testing

@testable import SecureAggregation

@Suite struct ConfigurationTests {
    static func configuration(bits: Int = 16, modulus: Int = 23, cohort: Int = 100) throws -> SecAggConfiguration {
        try SecAggConfiguration(
            bitsPerValue: bits,
            modulusBits: modulus,
            cohortSize: cohort,
            vectorLength: 8,
            degree: 10,
            threshold: 5
        )
    }

    @Test func aModulusTheCohortSumCouldWrapIsRefused() throws {
        // 100 devices need ⌈log2 100⌉ = 7 extra bits over 16.
        #expect(throws: SecAggConfigurationError.sumCouldWrap(modulusBits: 22, required: 23)) {
            try Self.configuration(modulus: 22)
        }
        _ = try Self.configuration(modulus: 23)
        // At a power of two the bound is exact: 64 devices need 6 bits, 65 need 7.
        #expect(SecAggConfiguration.requiredModulusBits(bitsPerValue: 16, cohortSize: 64) == 22)
        #expect(SecAggConfiguration.requiredModulusBits(bitsPerValue: 16, cohortSize: 65) == 23)
        #expect(throws: SecAggConfigurationError.sumCouldWrap(modulusBits: 64, required: 66)) {
            try Self.configuration(bits: 62, modulus: 64, cohort: 10)
        }
    }

    @Test func theRequiredModulusHoldsTheWorstCaseSumExactly() throws {
        let configuration = try Self.configuration(modulus: 23)
        let largest = (Int64(1) << 15) - 1
        let mask = ModularVector.mask(23)
        for extreme in [largest, -largest] {
            var sum = try #require(ModularVector.zero(bits: 23, count: 1))
            for _ in 0..<configuration.cohortSize { sum.add([UInt64(bitPattern: extreme) & mask]) }
            #expect(sum.signedValues == [extreme * 100])
        }
    }

    @Test func badGraphsAndRangesAreRefused() {
        #expect(throws: SecAggConfigurationError.invalidGraph(degree: 10, threshold: 11, cohort: 100)) {
            try SecAggConfiguration(
                bitsPerValue: 16,
                modulusBits: 32,
                cohortSize: 100,
                vectorLength: 8,
                degree: 10,
                threshold: 11
            )
        }
        #expect(throws: SecAggConfigurationError.self) {
            try SecAggConfiguration(
                bitsPerValue: 16,
                modulusBits: 32,
                cohortSize: 100,
                vectorLength: SecAggConfiguration.maxLength + 1,
                degree: 10,
                threshold: 5
            )
        }
    }

    @Test(arguments: [1, 7, 16, 23, 33, 64])
    func packedVectorsRoundTripAndRefuseExtraBits(bits: Int) throws {
        var generator = SeededGenerator(seed: UInt64(bits))
        let mask = ModularVector.mask(bits)
        let vector = try #require(ModularVector(bits: bits, values: (0..<13).map { _ in generator.next() & mask }))
        let packed = vector.packed
        #expect(packed.count == (13 * bits + 7) / 8)
        #expect(ModularVector(packed: packed, bits: bits, count: 13) == vector)
        #expect(ModularVector(packed: packed + [0], bits: bits, count: 13) == nil)
        if (13 * bits) % 8 != 0, var padded = Optional(packed) {
            padded[padded.count - 1] |= 0x80
            #expect(ModularVector(packed: padded, bits: bits, count: 13) == nil)
        }
        if bits < 64 { #expect(ModularVector(bits: bits, values: [mask + 1]) == nil) }
    }

    @Test func quantizationIsUnbiasedAndTheSumDecodes() throws {
        let configuration = try Self.configuration()
        let quantizer = try #require(SecAggQuantizer(configuration: configuration, clipNorm: 1))
        var generator = SeededGenerator(seed: 5)
        let update: [Float] = [0.5, -0.25, 1, -1, 0.000_01, 0, 0.3, -0.7]
        var sum = try #require(ModularVector.zero(bits: 23, count: 8))
        for _ in 0..<100 {
            sum.add(try #require(quantizer.quantize(update, using: &generator)).values)
        }
        let decoded = quantizer.dequantize(sum)
        for (value, total) in zip(update, decoded) {
            #expect(abs(total / 100 - value) < 1e-4)
        }
        #expect(quantizer.quantize([Float.nan] + Array(update.dropFirst()), using: &generator) == nil)
        #expect(quantizer.quantize([1], using: &generator) == nil)
        #expect(SecAggQuantizer(configuration: configuration, clipNorm: .infinity) == nil)
    }

    @Test func theWeightTravelsInsideTheVectorAndSumsExactly() throws {
        let configuration = try SecAggConfiguration(
            bitsPerValue: 16,
            modulusBits: 23,
            cohortSize: 100,
            vectorLength: 3,
            degree: 10,
            threshold: 5
        )
        let quantizer = try #require(SecAggQuantizer(configuration: configuration, clipNorm: 1))
        var generator = SeededGenerator(seed: 8)
        var sum = try #require(ModularVector.zero(bits: 23, count: 3))
        for weight in 1...10 {
            let vector = try #require(quantizer.quantize([0.5, -0.5], weight: weight, using: &generator))
            #expect(vector.values.count == 3)
            sum.add(vector.values)
        }
        let decoded = try #require(quantizer.dequantizeWeighted(sum))
        #expect(decoded.weightSum == 55)
        #expect(abs(decoded.sum[0] - 5) < 1e-3 && abs(decoded.sum[1] + 5) < 1e-3)
        #expect(quantizer.quantize([0.5, -0.5], weight: 1 << 15, using: &generator) == nil)
        #expect(quantizer.quantize([0.5, -0.5], weight: -1, using: &generator) == nil)
        #expect(quantizer.quantize([0.5], weight: 1, using: &generator) == nil)
    }
}
