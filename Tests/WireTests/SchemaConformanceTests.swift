import Foundation
import Testing

@testable import Wire

/// Checks the schemas in `schemas/` against the codec by running `scripts/check_schemas.py`.
///
/// Not skipped when python3 or jsonschema is missing: the test fails with the checker's output,
/// because a schema that silently stopped being checked is exactly the drift these tests catch.
struct SchemaConformanceTests {
    @Test func encoderOutputForEveryTopicIsValid() throws {
        let documents = try Fixtures.samples.map { sample in
            SchemaCase(label: sample.label, header: try encode(sample.message)[1], decoderAccepts: true)
        }
        try expectCheckerAgrees(documents)
    }

    @Test func brokenExamplesAreRejectedByTheSchemaAndTheDecoder() throws {
        var cases: [SchemaCase] = []
        for topic in Topic.known {
            let samples = try Fixtures.samples.filter { $0.message.topic == topic }.map { ($0, try encode($0.message)) }
            let minimal = try #require(samples.min { bodyKeys($0.1).count < bodyKeys($1.1).count })
            for key in bodyKeys(minimal.1) {
                cases.append(broken(minimal, "missing \(key)", "body.\(key)", nil))
            }
            let full = try #require(samples.max { bodyKeys($0.1).count < bodyKeys($1.1).count })
            for key in bodyKeys(full.1) {
                let header = (try? JSONParser.parse(full.1[1])) ?? .null
                let wrong: JSONValue = if case .string = header["body"]?[key] { .number(7) } else { .string("7") }
                cases.append(broken(full, "wrong type \(key)", "body.\(key)", wrong))
            }
            cases.append(broken(full, "extra body property", "body.unexpected", .bool(true)))
            cases.append(broken(full, "extra envelope property", "unexpected", .number(1)))
            cases.append(
                broken(full, "wrong schema id", "schema", .string("fedpulse.\(topic).v\(topic.schemaVersion + 1)"))
            )
            if RejectionTests.tensorless.contains(topic) {
                let tensor: JSONValue = .object([
                    "name": .string("x"), "encoding": .string("f32le"), "elements": .number(1), "bytes": .number(4),
                ])
                cases.append(broken(full, "a tensor on a topic that carries none", "tensors", .array([tensor])))
            }
            for (path, value) in Self.outOfRange[topic.rawValue] ?? [] {
                cases.append(broken(samples[0], "out of range \(path)", path, value))
            }
            #expect(Self.outOfRange[topic.rawValue] != nil, "no out-of-range example for \(topic)")
        }
        cases.append(
            broken(
                (Fixtures.samples[5], try encode(Fixtures.samples[5].message)),
                "tensor name",
                "tensors.0.name",
                .string("")
            )
        )
        try expectCheckerAgrees(cases)
    }

    /// The decoder and the schema must give the same verdict on the same edited document.
    @Test func randomEditsGetTheSameVerdictFromTheSchemaAndTheDecoder() throws {
        var rng = SplitMix64(state: 2020_12)
        var cases: [SchemaCase] = []
        for sample in Fixtures.samples {
            let frames = try encode(sample.message)
            for index in 0..<30 {
                // Tensor descriptors are left alone: their agreement with the frames is beyond a
                // schema; so are secure-aggregation records (survivors ≤ advertised, t ≤ k, k ≤ b).
                let edited = editingHeader(frames) {
                    FuzzTests.randomEdit(of: $0, using: &rng, excluding: ["tensors", "body.secureAggregation."])
                }
                let accepted = (try? WireCodec().decode(edited).get()) != nil
                cases.append(
                    SchemaCase(label: "\(sample.label) edit \(index)", header: edited[1], decoderAccepts: accepted)
                )
            }
        }
        #expect(cases.contains { $0.decoderAccepts } && cases.contains { !$0.decoderAccepts })
        try expectCheckerAgrees(cases)
    }

    @Test func schemaFilesMatchTheCode() throws {
        let directory = try #require(Repository.root).appendingPathComponent("schemas")
        func load(_ name: String) throws -> JSONValue {
            try JSONParser.parse(Array(try Data(contentsOf: directory.appendingPathComponent(name))))
        }
        let envelope = try load("envelope.schema.json")
        #expect(envelope["$id"] == .string("https://fedpulse.dev/schemas/envelope.schema.json"))
        #expect(envelope["$schema"] == .string("https://json-schema.org/draft/2020-12/schema"))
        let defs = envelope["$defs"]
        #expect(
            defs?["rejected"]?["propertyNames"]?["enum"] == .array(RejectReason.allCases.map { .string($0.rawValue) })
        )
        #expect(defs?["deviceClass"]?["enum"] == .array(DeviceClassName.allCases.map { .string($0.rawValue) }))
        #expect(defs?["placement"]?["enum"] == .array(NoisePlacement.allCases.map { .string($0.rawValue) }))
        #expect(
            defs?["tensorDescriptor"]?["properties"]?["encoding"]?["enum"]
                == .array(TensorEncoding.supported.map { .string($0.rawValue) })
        )
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasSuffix(".schema.json")
        }
        #expect(Set(files) == Set(Topic.known.map { "\($0).schema.json" } + ["envelope.schema.json"]))
        for topic in Topic.known {
            let schema = try load("\(topic).schema.json")
            #expect(schema["$id"] == .string("https://fedpulse.dev/schemas/\(topic).schema.json"))
            #expect(schema["properties"]?["schema"]?["const"] == .string(topic.schemaID))
            #expect(schema["properties"]?["topic"]?["const"] == .string(topic.rawValue))
            #expect(schema["$defs"]?["body"]?["additionalProperties"] == .bool(false))
        }
    }

    // MARK: - Cases

    static let outOfRange: [String: [(String, JSONValue)]] = [
        "checkin": [("body.eligibility.batteryPercent", .number(101)), ("body.trainExamples", .number(-1))],
        "aggregator.hello": [
            ("body.intervalMillis", .number(0)), ("body.region", .null), ("body.endpoint", .string("7100")),
            ("body.secureAggregationEndpoint", .string("7101")),
        ],
        "round.open": [
            ("body.roundId", .number(0)), ("body.training.learningRate", .number(0)),
            ("body.privacy.clipNorm", .number(0)),
            ("body.samplingSeed", .number(1e19)), ("body.shards.0.members", .array([.string("w"), .string("w")])),
            ("body.modelDigest", .string(String(repeating: "A", count: 64))),
            ("body.selection", .string("poisson")), ("body.samplingRate", .number(0.5)),
            ("body.shards.0.members", .array([.string("w\n2026-12-01 forged log line")])),
            ("body.compression.range", .number(1e9)), ("body.compression.fraction", .number(0)),
            ("body.compression.seed", .null), ("body.compression.quantization", .string("q2")),
            ("body.secureAggregation.valueBits", .number(33)), ("body.secureAggregation.dropoutRate", .number(0.5)),
            ("body.secureAggregation.clipNorm", .number(0)), ("body.secureAggregation.stageTimeoutMillis", .number(0)),
            ("body.shards.1.secureAggregationEndpoint", .null), ("body.kind", .string("statistics")),
            ("body.shards.0.secureAggregationEndpoint", .string("7101")),
            ("body.privacy.placement", .string("skellam")),
            (
                "body.secureAggregation.skellam",
                .object([
                    "scale": .number(64), "deviceVariance": .number(400), "dimension": .number(13),
                    "valueBits": .number(14), "roundingBeta": .number(0.5), "minimumSurvivors": .number(2),
                ])
            ),
        ],
        "update": [
            ("body.weight", .number(-0.5)), ("body.workerId", .string("w 1")), ("body.declined", .bool(true)),
            ("body.metrics", .object(["examples": .number(1), "loss": .number(0), "accuracy": .number(1.5)])),
        ],
        "partial": [
            ("body.contributors", .number(-1)), ("body.rejected", .object(["bogus": .number(1)])),
            ("body.secureAggregation.modulusBits", .number(63)),
            ("body.secureAggregation.deviceClass", .string("ring")),
        ],
        "model.candidate": [
            ("body.noiseStd", .number(-1)), ("body.participants", .object(["ring": .number(1)])),
            ("body.secureAggregation.0.threshold", .number(0)), ("body.secureAggregation.0.degree", .number(0)),
        ],
        "audit.event": [("body.count", .number(-1)), ("body.roundId", .number(0)), ("body.detail", .array([]))],
        "round.proposal": [
            ("body.samplingRate", .number(0)), ("body.samplingRate", .number(1.5)), ("body.population", .number(0)),
            // skellam without its numbers, and numbers without skellam.
            ("body.placement", .string("skellam")),
            (
                "body.skellam",
                .object([
                    "scale": .number(64), "deviceVariance": .number(400), "dimension": .number(1024),
                    "valueBits": .number(14), "roundingBeta": .number(0.5), "minimumSurvivors": .number(20),
                ])
            ),
        ],
        "round.verdict": [
            ("body.delta", .number(1)), ("body.epsilon", .number(-1)), ("body.accountant", .string("gdp")),
            ("body.reason", .string("budget exhausted")), ("body.detail", .string("")),
        ],
        "round.completed": [
            ("body.effectiveNoiseMultiplier", .number(-0.1)), ("body.clippedCount", .number(0.5)),
            ("body.secureAggregation.0.modulusBits", .number(0)),
        ],
        "secagg.keys": [("body.roundId", .number(0)), ("body.shard", .number(-1))],
        "secagg.neighbours": [
            ("body.ownPoint", .number(0)), ("body.neighbours.1", .string("w-2")),
            ("body.recipient", .string("w 1")),
        ],
        "secagg.shares": [
            ("body.holder", .string("w 1")), ("body.shard", .number(-1)),
            ("body.peerCount", .number(1025)), ("body.peerCount", .number(-1)), ("body.sealedByHolder", .number(1)),
        ],
        "secagg.masked": [("body.modulusBits", .number(63)), ("body.modulusBits", .number(0))],
        "secagg.unmask.request": [
            ("body.recipient", .string("")), ("body.survivorCount", .number(-1)),
            ("body.droppedCount", .number(1025)),
        ],
        "secagg.unmask.response": [
            ("body.selfMaskSeedOwners", .number(1025)),
            ("body.maskKeyOwners", .number(-1)),
        ],
        "round.summary": [
            ("body.round", .number(0)), ("body.accuracy", .number(1.01)), ("body.bytesDown", .number(-1)),
            ("body.rejected", .object(["bogus": .number(1)])), ("body.secureAggregation.0.valueBits", .number(0)),
        ],
        "ledger.entry": [("body.sequence", .number(-1)), ("body.line", .string(""))],
        "run.end": [("body.finalRound", .number(-1)), ("body.reason", .string(""))],
    ]

    func bodyKeys(_ frames: [[UInt8]]) -> [String] {
        guard case .object(let body)? = (try? JSONParser.parse(frames[1]))?["body"] else { return [] }
        return body.keys.sorted()
    }

    func broken(_ sample: (Sample, [[UInt8]]), _ what: String, _ path: String, _ value: JSONValue?) -> SchemaCase {
        let edited = editingHeader(sample.1) { $0.setting(path, to: value) }
        let accepted = (try? WireCodec().decode(edited).get()) != nil
        #expect(!accepted, "decoder accepts \(sample.0.label): \(what)")
        return SchemaCase(label: "\(sample.0.label): \(what)", header: edited[1], decoderAccepts: false)
    }
}

/// One header document and the decoder's verdict on it.
struct SchemaCase {
    let label: String
    let header: [UInt8]
    let decoderAccepts: Bool
}

/// Runs the checker on all documents at once and expects its verdicts to equal the decoder's.
func expectCheckerAgrees(_ cases: [SchemaCase], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let verdicts = try runSchemaChecker(cases.map(\.header))
    for (index, schemaCase) in cases.enumerated() {
        guard let verdict = verdicts[index] else {
            Issue.record("checker printed no line for \(schemaCase.label)", sourceLocation: sourceLocation)
            continue
        }
        #expect(
            verdict.valid == schemaCase.decoderAccepts,
            "\(schemaCase.label): schema says \(verdict.line), decoder \(schemaCase.decoderAccepts ? "accepts" : "rejects"); header \(String(decoding: schemaCase.header, as: UTF8.self))",
            sourceLocation: sourceLocation
        )
    }
}

/// Writes each header to a file, runs `python3 scripts/check_schemas.py`, and returns the verdict per index.
func runSchemaChecker(_ headers: [[UInt8]]) throws -> [Int: (valid: Bool, line: String)] {
    let root = try #require(Repository.root, "no schemas/ above \(#filePath)")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wire-schemas-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var arguments = [
        "python3", root.appendingPathComponent("scripts/check_schemas.py").path,
        "--schemas", root.appendingPathComponent("schemas").path,
    ]
    for (index, header) in headers.enumerated() {
        let file = directory.appendingPathComponent("\(index).json")
        try Data(header).write(to: file)
        arguments.append(file.path)
    }
    let stdoutURL = directory.appendingPathComponent("stdout.txt")
    let stderrURL = directory.appendingPathComponent("stderr.txt")
    try Data().write(to: stdoutURL)
    try Data().write(to: stderrURL)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
    process.standardError = try FileHandle(forWritingTo: stderrURL)
    try process.run()
    process.waitUntilExit()
    let stdout = String(decoding: try Data(contentsOf: stdoutURL), as: UTF8.self)
    let stderr = String(decoding: try Data(contentsOf: stderrURL), as: UTF8.self)
    guard process.terminationStatus == 0 || process.terminationStatus == 1 else {
        Issue.record("check_schemas.py could not run (status \(process.terminationStatus)):\n\(stderr)\n\(stdout)")
        return [:]
    }
    var verdicts: [Int: (valid: Bool, line: String)] = [:]
    for line in stdout.split(separator: "\n") {
        let fields = line.split(separator: "\t", maxSplits: 2).map(String.init)
        guard fields.count >= 2,
            let index = Int(URL(fileURLWithPath: fields[1]).deletingPathExtension().lastPathComponent)
        else {
            continue
        }
        verdicts[index] = (fields[0] == "OK", String(line))
    }
    return verdicts
}
