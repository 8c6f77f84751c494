import Testing

@testable import Runtime

@Suite struct FreePortsTests {
    /// Ports from port 0 come out of the ephemeral range, where every outgoing connection takes
    /// its source port; a role told to bind one could find it taken. These never are.
    @Test func portsComeFromBelowTheEphemeralRangeAndNeverTwice() throws {
        let range = try #require(FreePorts.unsharedRange(), "this machine leaves room below its ephemeral range")
        let ports = try FreePorts.pick(64) + FreePorts.pick(64)
        #expect(ports.allSatisfy { range.contains($0) })
        #expect(Set(ports).count == ports.count)
    }
}
