import Foundation
import Testing
import Wire
import ZeroMQ

/// Zero-copy receive: a large frame stays in libzmq's buffer, and the decoder reads it there.
struct BorrowedFrameTests {
    @Test func aLargeFrameIsBorrowedAndOutlivesTheNextReceive() throws {
        let context = try Context()
        let pull = try Socket(context, type: .pull)
        try pull.setLinger(0)
        let endpoint = try pull.bindResolved("tcp://127.0.0.1:*")
        let push = try Socket(context, type: .push)
        try push.setLinger(1_000)
        try push.connect(endpoint)
        let large = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try push.send([Array("small".utf8), large])
        try push.send([Array("next".utf8), [UInt8](repeating: 9, count: 200_000)])
        func next() throws -> ReceivedMessage {
            var items = [pull.pollItem()]
            _ = try poll(&items, timeout: .seconds(5))
            return try #require(try pull.receiveFromPeer(dontWait: true, borrowingFrom: 65_536))
        }
        let first = try next()
        let second = try next()
        guard case .bytes(let topic) = first.parts[0], case .message(let frame) = first.parts[1] else {
            Issue.record("expected a copied topic and a borrowed frame, got \(first.parts)")
            return
        }
        #expect(topic == Array("small".utf8))
        // The socket's own buffer has received another message since: the borrowed one is intact.
        #expect(frame.withUnsafeBytes { Array($0) } == large)
        #expect(second.frames[1] == [UInt8](repeating: 9, count: 200_000))
        #expect(first.byteCount == 5 + 200_000)
    }

    @Test func decodingABorrowedTensorEqualsDecodingItsCopy() throws {
        let codec = WireCodec()
        let values = (0..<50_000).map { Float($0) * 0.001 }
        let update = Update(
            roundId: 3,
            modelVersion: 3,
            workerId: "w",
            deviceClass: .watch,
            shard: 0,
            weight: 1,
            norm: 1,
            clipped: false
        )
        let frames = try codec.encode(update, sender: "w", tensors: [.f32le(name: "delta", values)])
        let owner = NSData(bytes: frames[2], length: frames[2].count)
        let borrowed: [WireFrame] = [
            .bytes(frames[0]), .bytes(frames[1]),
            .borrowed(BorrowedFrame(base: owner.bytes, count: owner.length, owner: owner)),
        ]
        let viaCopy = try codec.decode(frames, as: Update.self).get()
        let inPlace = try codec.decode(borrowed, as: Update.self).get()
        #expect(inPlace == viaCopy)
        #expect(inPlace.tensors[0].floats() == values)
        // A NaN is refused in place exactly as in a copy.
        var poisoned = frames[2]
        poisoned.replaceSubrange(400..<404, with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) })
        let poisonedOwner = NSData(bytes: poisoned, length: poisoned.count)
        let refused = codec.decode(
            [
                .bytes(frames[0]), .bytes(frames[1]),
                .borrowed(BorrowedFrame(base: poisonedOwner.bytes, count: poisonedOwner.length, owner: poisonedOwner)),
            ],
            as: Update.self
        )
        #expect(throws: WireError.self) { try refused.get() }
        if case .failure(let error) = refused {
            #expect(error.code == .nonFinite && error.detail.contains("element 100"))
        }
    }

    /// The codec's eight-lane scan finds the first NaN or infinity wherever it sits (first
    /// vector, a block boundary, the scalar tail) and lets every finite extreme through.
    @Test(arguments: [0, 7, 8, 255, 256, 257, 2_047, 2_048, 4_999, 5_003])
    func theFirstNonFiniteElementIsFoundWhereverItSits(position: Int) throws {
        let codec = WireCodec()
        var values = [Float](repeating: 1, count: 5_004)
        values[1] = .greatestFiniteMagnitude
        values[2] = -.greatestFiniteMagnitude
        values[3] = .leastNonzeroMagnitude
        values[4] = -0.0
        let update = Update(
            roundId: 3,
            modelVersion: 3,
            workerId: "w",
            deviceClass: .watch,
            shard: 0,
            weight: 1,
            norm: 1,
            clipped: false
        )
        let clean = try codec.encode(update, sender: "w", tensors: [.f32le(name: "delta", values)])
        #expect(throws: Never.self) { try codec.decode(clean, as: Update.self).get() }
        for poison in [Float.nan, .infinity, -.infinity, -Float.nan] {
            var frames = clean
            let offset = position * 4
            frames[2].replaceSubrange(
                offset..<(offset + 4),
                with: withUnsafeBytes(of: poison.bitPattern.littleEndian) { Array($0) }
            )
            // A second one later must not hide the first.
            if position + 3 < values.count {
                frames[2].replaceSubrange(
                    (offset + 12)..<(offset + 16),
                    with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) }
                )
            }
            guard case .failure(let error) = codec.decode(frames, as: Update.self) else {
                Issue.record("\(poison) at \(position) was accepted")
                continue
            }
            #expect(error.code == .nonFinite && error.detail.contains("element \(position) "))
        }
    }

    /// `scanningFloats: false` is for a receiver that checks every float itself: the NaN gets
    /// through the codec (every other check still runs), and the shard's fused stage refuses it.
    @Test func withoutTheScanTheCodecLeavesTheFloatsToTheReceiver() throws {
        let codec = WireCodec()
        var values = [Float](repeating: 0.5, count: 100_000)
        values[77_777] = .nan
        var frames = try codec.encode(
            Update(
                roundId: 3,
                modelVersion: 3,
                workerId: "w",
                deviceClass: .watch,
                shard: 0,
                weight: 1,
                norm: 1,
                clipped: false
            ),
            sender: "w",
            tensors: [.f32le(name: "delta", [Float](repeating: 0.5, count: 100_000))]
        )
        frames[2] = values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        let wire = frames.map(WireFrame.bytes)
        #expect(throws: WireError.self) { try codec.decode(wire, as: Update.self).get() }
        let unscanned = try codec.decode(wire, as: Update.self, scanningFloats: false).get()
        #expect(unscanned.tensors[0].elementCount == 100_000)
        // A wrong byte length is still refused without the scan.
        var short = frames
        short[2].removeLast(4)
        #expect(throws: WireError.self) {
            try codec.decode(short.map(WireFrame.bytes), as: Update.self, scanningFloats: false).get()
        }
    }
}
