import Testing
import Wire

@testable import Rounds

struct PeerIdentityTests {
    @Test func theProvenNameWinsAndADisagreeingClaimIsInconsistent() {
        let unauthenticated = PeerIdentity(claimed: "watch-3")
        #expect(unauthenticated.name == "watch-3" && unauthenticated.isConsistent && !unauthenticated.isAuthenticated)
        let impostor = PeerIdentity(claimed: "watch-4", authenticated: "watch-3")
        #expect(impostor.name == "watch-3" && !impostor.isConsistent && !impostor.isAuthenticated)
        #expect(PeerIdentity(claimed: "global", authenticated: "global").isAuthenticated)
    }
}
