import FedPulseTestSupport
import Foundation
import Testing

/// The coordinator's command line refuses `--dp distributed` with `--compression topk:F`
/// before it binds anything. The broadcast endpoint is a socket path that cannot exist, so a
/// coordinator that accepted the flags fails at once on the bind instead of running.
@Suite(.timeLimit(.minutes(2))) struct DPRoundingCLITests {
    @Test func theCoordinatorRefusesTopKUnderDistributedNoise() async throws {
        let binary = try FedPulseBinary.locate()
        let output = try await ShortCommand.run(
            binary,
            [
                "coordinator", "--dp", "distributed", "--clip", "1", "--noise-multiplier", "1",
                "--sampling-rate", "0.5", "--compression", "topk:0.1,q8", "--state-dir", "/nonexistent-fedpulse/state",
                "--auditor-events", "tcp://127.0.0.1:1", "--auditor-ledger", "tcp://127.0.0.1:2",
                "--broadcast", "ipc:///nonexistent-fedpulse/broadcast",
            ]
        )
        #expect(output.status != 0)
        #expect(output.text.contains("--dp distributed"), "\(output.text)")
        #expect(output.text.contains("--compression topk"), "\(output.text)")
    }

    /// Central DP, secure aggregation and q4 (4-bit values) on an MLP of more than 48
    /// parameters: no device could stay within C, so the coordinator refuses to start.
    @Test func theCoordinatorRefusesFourBitSecureAggregationUnderCentralNoiseForItsModel() async throws {
        let binary = try FedPulseBinary.locate()
        let output = try await ShortCommand.run(
            binary,
            [
                "coordinator", "--dp", "central", "--clip", "1", "--noise-multiplier", "1",
                "--sampling-rate", "0.5", "--secure-aggregation", "--compression", "q4", "--model", "mlp",
                "--hidden", "16", "--state-dir", "/nonexistent-fedpulse/state",
                "--auditor-events", "tcp://127.0.0.1:1", "--auditor-ledger", "tcp://127.0.0.1:2",
                "--broadcast", "ipc:///nonexistent-fedpulse/broadcast",
            ]
        )
        #expect(output.status != 0)
        #expect(output.text.contains("--secure-aggregation under --dp central with 4-bit values"), "\(output.text)")
    }
}
