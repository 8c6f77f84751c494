import Foundation
import Testing

@testable import Wire

/// A message with a label, so `@Test(arguments:)` names each case.
struct Sample: Sendable, CustomTestStringConvertible {
    let label: String
    let message: AnyMessage

    var testDescription: String { label }
}

/// Encodes any known message with its own static body type.
func encode(_ message: AnyMessage, with codec: WireCodec = WireCodec()) throws(WireError) -> [[UInt8]] {
    switch message {
    case .checkin(let m): try codec.encode(m)
    case .aggregatorHello(let m): try codec.encode(m)
    case .roundOpen(let m): try codec.encode(m)
    case .update(let m): try codec.encode(m)
    case .partial(let m): try codec.encode(m)
    case .modelCandidate(let m): try codec.encode(m)
    case .auditEvent(let m): try codec.encode(m)
    case .roundProposal(let m): try codec.encode(m)
    case .roundVerdict(let m): try codec.encode(m)
    case .roundCompleted(let m): try codec.encode(m)
    case .roundSummary(let m): try codec.encode(m)
    case .ledgerEntry(let m): try codec.encode(m)
    case .runEnd(let m): try codec.encode(m)
    case .secAggKeys(let m): try codec.encode(m)
    case .secAggNeighbours(let m): try codec.encode(m)
    case .secAggShares(let m): try codec.encode(m)
    case .secAggMasked(let m): try codec.encode(m)
    case .secAggUnmaskRequest(let m): try codec.encode(m)
    case .secAggUnmaskResponse(let m): try codec.encode(m)
    }
}

enum Fixtures {
    static let digest = String(repeating: "0123456789abcdef", count: 4)
    static let metrics = MetricsSummary(examples: 120, loss: 0.4312, accuracy: 0.8125)
    /// Values whose bit patterns are easy to get wrong: signed zero, subnormals, extremes.
    static let awkwardFloats: [Float] = [
        0, -0.0, 1, -1, 0.1, .pi, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, 1e-30, 123_456.789,
    ]

    static let modelSpec: JSONValue = .object([
        "architecture": .string("mlp"),
        "layers": .array([.number(12), .number(16), .number(3)]),
        "features": .array([.string("hr_mean"), .string("hrv_rmssd"), .string("sleep/ratio \"quoted\" ☾")]),
        "labels": .object(["count": .number(3), "names": .null]),
        "standardised": .bool(true),
        "scale": .number(0.015625),
    ])

    static func weights(_ count: Int = 64) -> Tensor {
        var tensor = Tensor.f32le(name: "weights", (0..<count).map { Float($0) * 0.25 - 3 })
        tensor.sha256 = digest
        return tensor
    }

    /// A valid `update` with one `delta` tensor of `values`.
    static func updateMessage(_ values: [Float] = [1, 2, 3, 4]) -> Message<Update> {
        Message(
            sender: "w-1",
            body: Update(
                roundId: 1,
                modelVersion: 0,
                workerId: "w-1",
                deviceClass: .watch,
                shard: 0,
                weight: 10,
                norm: 1,
                clipped: false
            ),
            tensors: [.f32le(name: "delta", values)]
        )
    }

    static func updateFrames(_ values: [Float] = [1, 2, 3, 4]) -> [[UInt8]] {
        // A fixture that fails to encode is a bug in the fixture; make the test say so.
        do { return try WireCodec().encode(updateMessage(values)) } catch {
            Issue.record("fixture: \(error)")
            return []
        }
    }
}
