import Learning
import Testing
import Wire

@testable import Federation

/// The encodings on their own: round trips, unbiasedness, error feedback, rotation, and the
/// shard-side decoder against hostile frames.
@Suite struct CompressionTests {
    static func plan(_ text: String, d: Int, range: Double = 1, roundId: Int = 3) throws -> CompressionPlan {
        let choice = try CompressionChoice.parse(text).get()
        let settings = try #require(choice.settings(range: range, seed: 42))
        return try CompressionPlan.make(settings, parameterCount: d, roundId: roundId).get()
    }

    static func vector(_ d: Int, seed: UInt64 = 1, scale: Float = 0.02) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<d).map { _ in (Float(rng.next() >> 40) * 0x1p-24 - 0.5) * 2 * scale }
    }

    static func roundTrip(_ plan: CompressionPlan, _ x: [Float], seed: UInt64 = 9) throws -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let encoded = UpdateEncoder(plan: plan).encode(x, using: &rng)
        // What the wire carries must pass the codec both ways.
        let codec = WireCodec()
        let body = Update(
            roundId: 3,
            modelVersion: 0,
            workerId: "w",
            deviceClass: .watch,
            shard: 0,
            weight: 1,
            norm: 0,
            clipped: false
        )
        let frames = try codec.encode(body, sender: "w", tensors: encoded.tensors)
        let decoded = try codec.decode(frames, as: Update.self).get()
        return try UpdateDecoder(plan: plan).decode(decoded.tensors).get()
    }

    @Test(arguments: [
        "f32,rotate", "q8", "q4", "topk:0.1", "randk:0.1", "q8,rotate", "topk:0.1,q8", "randk:0.25,q4,rotate",
    ])
    func roundTripStaysWithinTheQuantizationBound(_ text: String) throws {
        let d = 1_000
        let plan = try Self.plan(text, d: d)
        let x = Self.vector(d)
        let decoded = try Self.roundTrip(plan, x)
        #expect(decoded.count == d)
        // Decoded + residual is x (error feedback), and the kept part moved by ≤ the bound.
        var rng = SeededGenerator(seed: 9)
        let residual = UpdateEncoder(plan: plan).encode(x, using: &rng).residual
        let error = zip(decoded, x).map { Double($0 - $1) }.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if plan.settings.sparsification == .none {
            #expect(error <= plan.quantizationErrorBound + 1e-5)
            if plan.settings.quantization == .f32 { #expect(error < 1e-5) }
        } else {
            for index in 0..<d { #expect(abs(decoded[index] + residual[index] - x[index]) < 1e-6) }
            #expect(decoded.filter { $0 != 0 }.count <= plan.keptCount)
        }
    }

    @Test(arguments: ["q8", "q4", "q4,rotate"])
    func stochasticRoundingIsUnbiased(_ text: String) throws {
        let d = 64
        let plan = try Self.plan(text, d: d, range: 0.1)
        let x = Self.vector(d, scale: 0.05)
        let trials = 2_000
        var mean = [Double](repeating: 0, count: d)
        var rng = SeededGenerator(seed: 5)
        let encoder = UpdateEncoder(plan: plan)
        let decoder = UpdateDecoder(plan: plan)
        for _ in 0..<trials {
            let decoded = try decoder.decode(encoder.encode(x, using: &rng).tensors).get()
            for index in 0..<d { mean[index] += Double(decoded[index]) / Double(trials) }
        }
        // Each decoded value has variance ≤ step²/4 (rotation keeps the total), so the mean of n
        // trials has standard deviation ≤ step / (2√n); 6 of those bound every coordinate.
        let bound = 6 * plan.quantizationStandardDeviation / Double(trials).squareRoot()
        for index in 0..<d { #expect(abs(mean[index] - Double(x[index])) < bound) }
        // And the bound is tight enough to matter: nearest rounding would miss it.
        #expect(bound < plan.quantizationStandardDeviation)
    }

    @Test func topKWithErrorFeedbackConservesMass() throws {
        let d = 500
        let plan = try Self.plan("topk:0.1,q8", d: d)
        let encoder = UpdateEncoder(plan: plan)
        let decoder = UpdateDecoder(plan: plan)
        var residual = [Float](repeating: 0, count: d)
        var sentTotal = [Double](repeating: 0, count: d)
        var inputTotal = [Double](repeating: 0, count: d)
        var rng = SeededGenerator(seed: 3)
        for round in 0..<8 {
            let input = Self.vector(d, seed: UInt64(round + 10))
            let owed = zip(input, residual).map { $0 + $1 }
            let encoded = encoder.encode(owed, using: &rng)
            let sent = try decoder.decode(encoded.tensors).get()
            residual = encoded.residual
            for index in 0..<d {
                sentTotal[index] += Double(sent[index])
                inputTotal[index] += Double(input[index])
            }
        }
        for index in 0..<d { #expect(abs(sentTotal[index] + Double(residual[index]) - inputTotal[index]) < 1e-4) }
        #expect(residual.contains { $0 != 0 })
    }

    @Test func topKKeepsTheLargestMagnitudes() {
        let values: [Float] = [0.1, -5, 0.2, 3, -0.3, 3, 0]
        #expect(UpdateEncoder.largest(3, of: values) == [1, 3, 5])
        #expect(UpdateEncoder.largest(1, of: values) == [1])
    }

    /// The radix select against a sort, on vectors full of ties (±0 and repeated magnitudes
    /// of both signs), for k from 1 to d − 1: the same indices, ties to the lower index.
    @Test func topKMatchesASortOnVectorsWithTies() {
        var rng = SeededGenerator(seed: 5)
        let palette: [Float] = [0, -0, 0.5, -0.5, 1e-30, 3, -3, 7.25, .leastNonzeroMagnitude, 1e30]
        for d in [2, 9, 64, 1_000] {
            let values = (0..<d).map { _ in palette[Int(rng.next() % UInt64(palette.count))] }
            for k in Set([1, 2, d / 3, d / 2, d - 1]) where k >= 1 && k < d {
                let reference = values.indices
                    .sorted { a, b in
                        values[a].magnitude != values[b].magnitude ? values[a].magnitude > values[b].magnitude : a < b
                    }
                    .prefix(k).sorted()
                #expect(UpdateEncoder.largest(k, of: values) == Array(reference), "d \(d), k \(k)")
            }
        }
    }

    /// The residual computed from the levels is bit for bit delta − decode(tensors).
    @Test(arguments: ["topk:0.1", "topk:0.1,q8", "topk:0.25,q4", "randk:0.1,q8", "topk:0.1,q8,rotate"])
    func residualIsExactlyWhatTheDecoderDidNotGet(_ text: String) throws {
        let d = 1_000
        let plan = try Self.plan(text, d: d)
        let x = Self.vector(d, seed: 9)
        var rng = SeededGenerator(seed: 4)
        let (tensors, residual) = UpdateEncoder(plan: plan).encode(x, using: &rng)
        let decoded = try UpdateDecoder(plan: plan).decode(tensors).get()
        #expect(residual.map(\.bitPattern) == zip(x, decoded).map { ($0 - $1).bitPattern })
        #expect(residual.contains { $0 != 0 })
    }

    /// NaN has no place in a clamp: the quantizer must not hand it to an integer conversion
    /// (the edge refuses such deltas first; this is the second line).
    @Test(arguments: ["q8", "q4", "topk:0.1,q8"])
    func aNaNInTheDeltaDoesNotTrapTheEncoder(_ text: String) throws {
        let plan = try Self.plan(text, d: 100)
        var x = Self.vector(100, seed: 2)
        x[3] = .nan
        x[40] = .infinity
        var rng = SeededGenerator(seed: 1)
        let (tensors, _) = UpdateEncoder(plan: plan).encode(x, using: &rng)
        #expect(!tensors.isEmpty)
    }

    @Test func rotationIsItsOwnInverse() {
        let x = Self.vector(256, scale: 1)
        var y = x
        HadamardRotation.transform(&y)
        #expect(y != x)
        HadamardRotation.transform(&y)
        for (a, b) in zip(x, y) { #expect(abs(a - b) < 1e-5) }
        let rotation = HadamardRotation(count: 256, seed: 7, roundId: 2)
        var z = x
        rotation.rotate(&z)
        let norm = { (v: [Float]) in v.map { Double($0 * $0) }.reduce(0, +).squareRoot() }
        #expect(abs(norm(z) - norm(x)) < 1e-4)
        rotation.unrotate(&z)
        for (a, b) in zip(x, z) { #expect(abs(a - b) < 1e-5) }
    }

    @Test func rotationCutsQuantizationErrorOnASkewedUpdate() throws {
        let d = 1_024
        var x = [Float](repeating: 0.001, count: d)
        x[7] = 0.9
        let plain = try Self.roundTrip(try Self.plan("q4", d: d), x)
        let rotated = try Self.roundTrip(try Self.plan("q4,rotate", d: d), x)
        let error = { (v: [Float]) in zip(v, x).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +) }
        #expect(error(rotated) < error(plain))
    }

    @Test func randKUsesTheSameCoordinatesForEveryWorker() throws {
        let plan = try Self.plan("randk:0.1", d: 300)
        let again = try Self.plan("randk:0.1", d: 300)
        let other = try Self.plan("randk:0.1", d: 300, roundId: 4)
        #expect(plan.sharedIndices == again.sharedIndices)
        #expect(plan.sharedIndices != other.sharedIndices)
        #expect(Set(try #require(plan.sharedIndices)).count == 30)
    }

    // MARK: - Hostile frames at the decoder

    static func indexFrame(_ bytes: [UInt8], count: Int) -> Tensor {  // the older gapvarint frame, still decoded
        .encoded(name: "deltaIndex", encoding: .gapVarint, bytes: bytes, elementCount: count)
    }

    @Test func hostileTopKFramesAreRejectedWithReasons() throws {
        let plan = try Self.plan("topk:0.5", d: 4)  // k = 2
        let decoder = UpdateDecoder(plan: plan)
        let values = Tensor.f32le(name: "delta", [1, 2])
        func reason(_ tensors: [Tensor]) -> RejectReason? {
            if case .failure(let error) = decoder.decode(tensors) { error.code } else { nil }
        }
        // Honest: indices 1 and 3 → gaps 2, 2.
        #expect(reason([values, Self.indexFrame([2, 2], count: 2)]) == nil)
        #expect(reason([values, Self.indexFrame([2, 9], count: 2)]) == .shapeMismatch)  // index 10 ≥ 4
        #expect(reason([values, Self.indexFrame([2, 0], count: 2)]) == .shapeMismatch)  // duplicate
        #expect(reason([values, Self.indexFrame([2, 1, 1], count: 2)]) == .shapeMismatch)  // too many
        #expect(reason([values, Self.indexFrame([2, 2], count: 3)]) == .shapeMismatch)  // wrong count
        #expect(reason([values, Self.indexFrame([0x82], count: 2)]) == .byteLengthMismatch)  // truncated varint
        #expect(
            reason([values, Self.indexFrame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], count: 2)]) == .byteLengthMismatch
        )
        #expect(
            reason([Tensor.f32le(name: "delta", [1, 2, 3]), Self.indexFrame([2, 2], count: 2)]) == .shapeMismatch
        )
        #expect(reason([values]) == .frameCountMismatch)
        #expect(
            reason([
                Tensor.encoded(name: "delta", encoding: .q8, bytes: [1, 2], elementCount: 2),
                Self.indexFrame([2, 2], count: 2),
            ]) == .unsupportedEncoding
        )
    }

    @Test func q4PadNibbleMustBeZero() throws {
        let plan = try Self.plan("q4", d: 3)
        let decoder = UpdateDecoder(plan: plan)
        let honest = Tensor.encoded(name: "delta", encoding: .q4, bytes: [0x77, 0x07], elementCount: 3)
        let padded = Tensor.encoded(name: "delta", encoding: .q4, bytes: [0x77, 0xF7], elementCount: 3)
        #expect((try? decoder.decode([honest]).get()) != nil)
        #expect(throws: WireError.self) { try decoder.decode([padded]).get() }
    }

    @Test func choicesParseAndRefuse() throws {
        #expect(try CompressionChoice.parse("topk:0.1,q8").get().sparsification == .topk)
        #expect(try CompressionChoice.parse("randk:0.1,rotate").get().rotate)
        #expect(try CompressionChoice.parse("f32").get() == .none)
        for bad in ["q9", "topk", "topk:0", "topk:1.5", "q8,q4", "q8,rotate,rotate", "", "topk:0.1,randk:0.1"] {
            #expect(throws: CompressionChoiceError.self) { try CompressionChoice.parse(bad).get() }
        }
    }
}
