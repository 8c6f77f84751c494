internal import Crypto

/// The k-regular graph that says who shares secrets with (and masks against) whom.
///
/// A Harary graph H(k, n) on a ring: the member at ring position p is joined to positions
/// p ± 1 … p ± k/2 (k even). Members are placed on the ring by a permutation the devices cannot
/// predict or influence — the "random Harary graph" whose disconnection probability
/// `GraphParameterFinder` bounds (Bell et al. 2020, §4); a permutation known in advance (ids in
/// sorted order, say) would let corrupt devices position themselves around a victim.
/// `random` draws a fresh one, as `fcp/secagg`'s `SecretSharingHararyGraph` does per instance;
/// `keyed` orders the members by a keyed hash under a secret the shard draws once, so the same
/// cohort gets the same ring round after round (see there).
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

    /// A graph over `members` ordered by HMAC-SHA256(`ringKey`, id), ties by id.
    ///
    /// Why keyed rather than fresh each round: the order is as unpredictable to the devices as a
    /// fresh permutation (the key is the shard's secret, ids are enrolled, not chosen), but a
    /// cohort that stays the same keeps its ring, and a member joining or leaving moves only its
    /// own place. So a device keeps its neighbours, and the share-encryption agreements it
    /// cached with them (`SecAggCipherKey`), from one round to the next; with a fresh ring per
    /// round most of its k neighbours were new every round. Corrupt devices that did not land
    /// around a victim in the first round do not get a new draw every round either: the chance
    /// that they ever surround it is that of one graph, not of one graph per round.
    public static func keyed(members: [String], degree: Int, ringKey: [UInt8]) -> NeighbourGraph? {
        let key = SymmetricKey(data: ringKey)
        let tagged = members.map { id in
            (tag: Array(HMAC<SHA256>.authenticationCode(for: Array(id.utf8), using: key)), id: id)
        }
        let ordered = tagged.sorted { $0.tag != $1.tag ? $0.tag.lexicographicallyPrecedes($1.tag) : $0.id < $1.id }
        return NeighbourGraph(ring: ordered.map(\.id), degree: degree)
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
