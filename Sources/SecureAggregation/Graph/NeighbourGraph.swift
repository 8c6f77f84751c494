/// The k-regular graph that says who shares secrets with (and masks against) whom.
///
/// A Harary graph H(k, n) on a ring: the member at ring position p is joined to positions
/// p ± 1 … p ± k/2 (k even). Members are placed on the ring by a uniformly random permutation
/// drawn by the shard from its CSPRNG for each round, as `fcp/secagg`'s
/// `SecretSharingHararyGraph` does; this is the "random Harary graph" whose disconnection
/// probability `GraphParameterFinder` bounds (Bell et al. 2020, §4). A permutation fixed in
/// advance would let corrupt devices position themselves around a victim.
public struct NeighbourGraph: Sendable, Hashable {
    /// Member ids in ring order.
    public let ring: [String]
    public let degree: Int
    private let positions: [String: Int]

    /// Nil when ids repeat, the degree is odd or zero, or not below the member count.
    public init?(ring: [String], degree: Int) {
        let positions = Dictionary(ring.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        guard positions.count == ring.count, degree >= 2, degree % 2 == 0, degree < ring.count else { return nil }
        self.ring = ring
        self.degree = degree
        self.positions = positions
    }

    /// A graph over `members` in a random ring order.
    public static func random(
        members: [String],
        degree: Int,
        using generator: inout some RandomNumberGenerator
    ) -> NeighbourGraph? {
        NeighbourGraph(ring: members.shuffled(using: &generator), degree: degree)
    }

    public func contains(_ id: String) -> Bool { positions[id] != nil }

    /// The member's Shamir evaluation point: its ring position + 1 (0 is the secret's point).
    public func point(of id: String) -> UInt64? { positions[id].map { UInt64($0) + 1 } }

    /// The `degree` neighbours of `id`, in ring order from the nearest; empty for a non-member.
    public func neighbours(of id: String) -> [String] {
        guard let position = positions[id] else { return [] }
        let n = ring.count
        var result: [String] = []
        for step in 1...(degree / 2) {
            result.append(ring[(position + step) % n])
            result.append(ring[(position - step + n) % n])
        }
        return result
    }

    public func areNeighbours(_ a: String, _ b: String) -> Bool {
        guard let pa = positions[a], let pb = positions[b], pa != pb else { return false }
        let n = ring.count
        let distance = min((pa - pb + n) % n, (pb - pa + n) % n)
        return distance <= degree / 2
    }
}
