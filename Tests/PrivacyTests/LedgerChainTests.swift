import Foundation
import Testing

@testable import Privacy

struct LedgerChainTests {
    /// Six entries: a header, approvals and a completion.
    static func ledger() throws -> [String] {
        var chain = LedgerChain()
        var lines: [String] = []
        var header = LedgerEntry(kind: .header, delta: 1e-5, budget: 4)
        header.participationSalt = String(repeating: "0f", count: 32)
        lines.append(try chain.append(header))
        for round in 1...5 {
            var entry = LedgerEntry(kind: round == 3 ? .complete : .approve, round: round, delta: 1e-5, budget: 4)
            entry.epsilonRDP = 0.25 * Double(round)
            entry.epsilonPLD = .infinity
            entry.participantsByClass = ["watch": round]
            lines.append(try chain.append(entry))
        }
        return lines
    }

    @Test func freshLedgerVerifies() throws {
        let lines = try Self.ledger()
        let result = LedgerChain.verify(lines: lines)
        #expect(result.isValid)
        #expect(result.entryCount == 6)
        #expect(try LedgerChain.decode(lines[4]).sequence == 4)
        #expect(try LedgerChain.decode(lines[2]).epsilonPLD == .infinity)
        #expect(LedgerChain.lines(fromFileContents: lines.joined(separator: "\n") + "\n") == lines)
    }

    @Test func resumedChainContinuesTheLinks() throws {
        var lines = try Self.ledger()
        var chain = try LedgerChain(resumingAfter: try #require(lines.last))
        lines.append(try chain.append(LedgerEntry(kind: .deny, round: 6, delta: 1e-5, budget: 4)))
        #expect(LedgerChain.verify(lines: lines).isValid)
    }

    @Test func editedFieldIsDetectedAtTheEditedLine() throws {
        var lines = try Self.ledger()
        lines[3] = lines[3].replacingOccurrences(of: #""epsilonRDP":0.75"#, with: #""epsilonRDP":0.5"#)
        try #require(lines[3].contains(#""epsilonRDP":0.5"#))
        #expect(LedgerChain.verify(lines: lines).firstProblem == LedgerProblem(index: 3, reason: .edited))
    }

    @Test func droppedEntryIsDetected() throws {
        var lines = try Self.ledger()
        lines.remove(at: 2)
        #expect(LedgerChain.verify(lines: lines).firstProblem == LedgerProblem(index: 2, reason: .dropped))
    }

    @Test func reorderedEntriesAreDetected() throws {
        var lines = try Self.ledger()
        lines.swapAt(2, 4)
        #expect(LedgerChain.verify(lines: lines).firstProblem == LedgerProblem(index: 2, reason: .reordered))
    }

    @Test func truncatedLastLineIsDetected() throws {
        var lines = try Self.ledger()
        let last = try #require(lines.last)
        lines[lines.count - 1] = String(last.prefix(last.count / 2))
        #expect(LedgerChain.verify(lines: lines).firstProblem == LedgerProblem(index: 5, reason: .truncated))
    }

    @Test func resignedEditBreaksTheNextLink() throws {
        var lines = try Self.ledger()
        // The forger re-signs line 2 with a valid digest; line 3 still points at the original.
        var chain = try LedgerChain(resumingAfter: lines[1])
        var forged = try LedgerChain.decode(lines[2])
        forged.epsilonRDP = 0.01
        lines[2] = try chain.append(forged)
        #expect(LedgerChain.verify(lines: lines).firstProblem == LedgerProblem(index: 3, reason: .brokenLink))
    }

    @Test func skippedSequenceWithIntactLinkIsAGap() throws {
        var lines = try Self.ledger()
        var chain = LedgerChain(nextSequence: 7, headHash: Hex.sha256(lines[5].utf8))
        lines.append(try chain.append(LedgerEntry(kind: .deny, round: 6, delta: 1e-5, budget: 4)))
        #expect(LedgerChain.verify(lines: lines).firstProblem == LedgerProblem(index: 6, reason: .sequenceGap))
    }

    /// A forger edits an entry and recomputes every digest and link after it: the chain verifies,
    /// the signatures do not (he cannot sign with the auditor's key, and his own is not it).
    @Test func rechainedLedgerPassesTheChainButNotTheSignatures() throws {
        let auditor = try #require(LedgerSigningKey(rawRepresentation: Array(repeating: 1, count: 32)))
        let forger = try #require(LedgerSigningKey(rawRepresentation: Array(repeating: 2, count: 32)))
        var chain = LedgerChain()
        var lines: [String] = []
        for round in 0...4 {
            var entry = LedgerEntry(
                kind: round == 0 ? .header : .approve,
                round: round == 0 ? nil : round,
                delta: 1e-5,
                budget: 4
            )
            entry.epsilonRDP = 0.5 * Double(round)
            lines.append(try chain.append(entry, signedWith: auditor))
        }
        #expect(LedgerChain.verify(lines: lines, publicKey: auditor.publicKey).isValid)
        for signer in [nil, forger] {
            var forged = LedgerChain(nextSequence: 2, headHash: Hex.sha256(lines[1].utf8))
            var rechained = Array(lines[...1])
            for line in lines[2...] {
                var entry = try LedgerChain.decode(line)
                entry.epsilonRDP = 0.01
                entry.signature = nil
                rechained.append(try forged.append(entry, signedWith: signer))
            }
            #expect(LedgerChain.verify(lines: rechained).isValid, "the chain alone cannot tell")
            let reason: LedgerProblem.Reason = signer == nil ? .unsigned : .badSignature
            #expect(
                LedgerChain.verify(lines: rechained, publicKey: auditor.publicKey).firstProblem
                    == LedgerProblem(index: 2, reason: reason)
            )
        }
        // Keeping the auditor's signature of the old digest does not help either.
        var edited = lines
        edited[3] = edited[3].replacingOccurrences(of: #""epsilonRDP":1.5"#, with: #""epsilonRDP":0.1"#)
        #expect(
            LedgerChain.verify(lines: edited, publicKey: auditor.publicKey).firstProblem
                == LedgerProblem(index: 3, reason: .edited)
        )
    }

    @Test func garbageInTheMiddleIsUnparseable() throws {
        var lines = try Self.ledger()
        lines[1] = "{not json"
        #expect(LedgerChain.verify(lines: lines).firstProblem == LedgerProblem(index: 1, reason: .unparseable))
    }
}
