import FedPulseTestSupport
import Foundation
import Privacy
import Runtime
import Testing
import Wire

extension PrivacyEndToEndTests {
    /// Attacks on a real `fedpulse auditor` process by an outsider who can reach its events socket
    /// (issue 8, §3 and §4b). The test itself is the attacker and, where needed, the coordinator.
    @Suite(.timeLimit(.minutes(1)))
    struct AuditorAttackTests {
        static func proposal(_ round: Int, q: Double = 0.5, z: Double = 1.1) -> Wire.RoundProposal {
            Wire.RoundProposal(
                roundId: round,
                samplingRate: q,
                noiseMultiplier: z,
                clipNorm: 1,
                placement: .distributed,
                expectedCohort: 5,
                population: 10,
                selected: []
            )
        }

        static func completion(_ round: Int, contributors: Int) -> RoundCompleted {
            RoundCompleted(
                roundId: round,
                modelVersion: round,
                modelDigest: String(repeating: "f", count: 64),
                participants: ParticipantCounts(watch: contributors),
                contributors: contributors,
                clippedCount: 0,
                effectiveNoiseMultiplier: 50,
                contributorIds: (0..<contributors).map { "watch-\($0)" }
            )
        }

        /// Sends `proposal` as the coordinator, again and again (a retransmission is answered from
        /// memory), until its verdict arrives on the ledger PUB: the follower's SUB has then joined,
        /// so later verdicts are not lost to PUB/SUB's slow joiner. Bounded by `timeout`.
        @discardableResult
        static func proposeUntilHeard(
            _ proposal: Wire.RoundProposal,
            by forger: AuditorForger,
            on setup: PrivateHierarchy,
            within timeout: Duration = .seconds(20)
        ) async throws -> Wire.RoundVerdict {
            let deadline = ContinuousClock.now + timeout
            while true {
                try forger.send([AuditorForger.message(proposal, from: "coordinator")])
                do {
                    return try await setup.follower.log.first(
                        within: .milliseconds(250),
                        "the verdict of round \(proposal.roundId)"
                    ) {
                        events in events.lazy.compactMap(\.verdict).first { $0.roundId == proposal.roundId }
                    }
                } catch let error as TimedOut {
                    if ContinuousClock.now >= deadline { throw error }
                }
            }
        }

        @Test func forgedCompletionFromADeviceIdIsIgnoredAndEpsilonInTheLedgerIsUnchanged() async throws {
            try await PrivateHierarchy.run("forged-completion") { setup in
                let auditor = try setup.startAuditor(
                    budget: 100,
                    delta: PrivacyEndToEndTests.delta,
                    minNoiseMultiplier: 0.7
                )
                let forger = AuditorForger(endpoint: setup.auditorEvents)
                try await Self.proposeUntilHeard(Self.proposal(1), by: forger, on: setup)
                let approval = try #require(try setup.ledgerEntries().first { $0.kind == .approve && $0.round == 1 })
                // A device claims the open round finished with 5 contributors (distributed noise: more
                // contributors would mean more noise and a smaller ε), then the coordinator asks for
                // round 2 on the same socket: once its verdict is out, the forgery was processed.
                try forger.send([
                    AuditorForger.message(Self.completion(1, contributors: 5), from: "watch-3"),
                    AuditorForger.message(Self.proposal(2), from: "coordinator"),
                ])
                _ = try await setup.follower.log.first(within: .seconds(20), "the verdict of round 2") { events in
                    events.lazy.compactMap(\.verdict).first { $0.roundId == 2 }
                }
                let entries = try setup.ledgerEntries()
                #expect(
                    !entries.contains { $0.kind == .complete },
                    "a device's completion was recorded: \(entries.map(\.kind.rawValue))"
                )
                let afterForgery = try #require(entries.last { $0.kind == .approve && $0.round == 2 })
                // Only round 2's planned cost was added to round 1's: recompute it from the accountant.
                var expected = RDPAccountant()
                let planned = SubsampledGaussian(samplingRate: 0.5, noiseMultiplier: 1.1 * (4.0 / 5).squareRoot())
                expected.compose(planned, count: 2)
                #expect(
                    approval.epsilonRDP.map {
                        relativeDifference(
                            $0,
                            RDPAccountant().composing(planned).epsilon(delta: PrivacyEndToEndTests.delta).epsilon
                        ) < 1e-9
                    } == true
                )
                #expect(
                    afterForgery.epsilonRDP.map {
                        relativeDifference($0, expected.epsilon(delta: PrivacyEndToEndTests.delta).epsilon) < 1e-9
                    } == true
                )
                let log = (try? String(contentsOf: auditor.logFile, encoding: .utf8)) ?? ""
                #expect(log.contains("unauthorizedSender"), "\(log)")

                // The same completion from the coordinator is recorded: the forgery was refused for its sender alone.
                try forger.send([AuditorForger.message(Self.completion(1, contributors: 5), from: "coordinator")])
                let complete = try await setup.follower.completion(of: 1, within: .seconds(20))
                #expect(complete.participantHashes?.count == 5)
                // The salt behind those hashes stays in the file: the PUB never carries the header.
                let published = setup.follower.log.items.compactMap { event -> String? in
                    if case .entry(_, let line, _) = event { return line }
                    return nil
                }
                #expect(!published.isEmpty && !published.contains { $0.contains("participationSalt") })
                #expect(try setup.ledgerLines().first?.contains("participationSalt") == true)
                #expect(
                    LedgerChain.verify(
                        lines: try setup.ledgerLines(),
                        publicKey: try SigningKeyFile.publicKey(at: setup.publicKeyFile.path)
                    ).isValid
                )
            }
        }

        @Test func forgedProposalForRound777777WithQ1AndZHalfIsDeniedAndSpendsNothing() async throws {
            try await PrivateHierarchy.run("forged-proposal") { setup in
                try setup.startAuditor(budget: 100, delta: PrivacyEndToEndTests.delta, minNoiseMultiplier: 0.7)
                let forger = AuditorForger(endpoint: setup.auditorEvents)
                let first = try await Self.proposeUntilHeard(Self.proposal(1), by: forger, on: setup)
                try forger.send([
                    AuditorForger.message(Self.proposal(777_777, q: 1, z: 0.5), from: "watch-3"),
                    AuditorForger.message(Self.proposal(777_777, q: 1, z: 0.5), from: "coordinator"),
                    AuditorForger.message(Self.proposal(2, q: 1, z: 0.5), from: "coordinator"),
                    AuditorForger.message(Self.proposal(3), from: "coordinator"),
                ])
                let verdicts = try await setup.follower.log.first(within: .seconds(20), "the verdict of round 3") {
                    events -> [Wire.RoundVerdict]? in
                    let verdicts = events.compactMap(\.verdict).filter { $0.roundId != 1 }
                    return verdicts.contains { $0.roundId == 3 } ? verdicts : nil
                }
                // The device's claim gets no verdict at all; the coordinator's claims are denied with a reason.
                #expect(verdicts.map(\.roundId) == [777_777, 2, 3], "\(verdicts)")
                #expect(verdicts.first?.approved == false && verdicts.first?.denyReason == .notNextRound)
                #expect(
                    verdicts.dropFirst().first?.approved == false
                        && verdicts.dropFirst().first?.denyReason == .outsidePolicy
                )
                #expect(verdicts.last?.approved == true, "the forgery must not lock the coordinator out")
                let entries = try setup.ledgerEntries()
                #expect(entries.map(\.kind) == [.header, .approve, .deny, .approve], "\(entries.map(\.kind.rawValue))")
                #expect(!entries.contains { $0.round == 777_777 })
                let deny = try #require(entries.first { $0.kind == .deny })
                let spentBefore = try #require(entries.first { $0.kind == .approve }?.epsilonRDP)
                #expect(deny.reason == "outsidePolicy" && deny.epsilonRDP == spentBefore, "a deny spends nothing")
                #expect(relativeDifference(first.epsilon, spentBefore) < 1e-12)
            }
        }

        @Test func secondAuditorOnTheSameLedgerFileRefusesToStartWithAClearMessage() async throws {
            try await PrivateHierarchy.run("second-auditor") { setup in
                let first = try setup.startAuditor(budget: 100, delta: PrivacyEndToEndTests.delta)
                try await setup.waitForLog("auditor ready", in: first, moreThan: 0, within: .seconds(20))
                let before = try setup.ledgerLines()
                let ports = try FreePorts.pick(2)
                let second = try setup.startAuditor(
                    name: "auditor-second",
                    budget: 100,
                    delta: PrivacyEndToEndTests.delta,
                    events: "tcp://127.0.0.1:\(ports[0])",
                    ledger: "tcp://127.0.0.1:\(ports[1])"
                )
                let status = await setup.hierarchy.children.waitForExit(second, timeout: .seconds(20))
                let log = (try? String(contentsOf: second.logFile, encoding: .utf8)) ?? ""
                #expect(status != nil && status != 0, "a second auditor started on a ledger in use:\n\(log)")
                #expect(log.contains("another auditor holds the ledger"), "\(log)")
                #expect(try setup.ledgerLines() == before, "the refused auditor wrote to the ledger")
                // The first one is still the auditor.
                try AuditorForger(endpoint: setup.auditorEvents).send([
                    AuditorForger.message(Self.proposal(1), from: "coordinator")
                ])
                try await setup.waitForLog("round approved", in: first, moreThan: 0, within: .seconds(20))
                #expect(try setup.ledgerEntries().map(\.kind) == [.header, .approve])
            }
        }
    }
}
