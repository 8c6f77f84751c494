public import Wire

/// "May this connection say this?" — the one rule binding a message's claimed sender (and
/// device class) to the key its connection proved, applied by ``RoleLoop`` to every message.
///
/// A key may claim its own enrolled name. An `edge:<class>` key named `E` may also claim
/// `E/<suffix>`: a device it hosts. Under a `device:<class>` or `edge:<class>` key, a message
/// that names a device class (update, decline, check-in) must name that class, so a watch edge
/// cannot slip a phone's update into the phone shards; under any other key (observer, shard,
/// global, coordinator, auditor) such a message is refused outright. An aggregator's own messages
/// (hello, partial, model candidate) must come from a key of that aggregator's role (`global`,
/// `shard:<its region>`), so a key enrolled under a slot's name by mistake, with another role,
/// cannot take the slot. Without transport authentication there is no proof to check and the
/// claim stands as before.
public enum SenderBinding {
    /// The identity a role's state machine sees, or why the message is refused.
    public static func identity(
        claimed: String,
        userId: String?,
        peerRole: String?,
        deviceClass: DeviceClassName?,
        requiredRole: String? = nil
    ) -> Result<PeerIdentity, WireError> {
        guard let userId else { return .success(PeerIdentity(claimed: claimed)) }
        if let requiredRole, peerRole != requiredRole {
            return .failure(
                WireError(
                    code: .unauthorizedSender,
                    detail:
                        "\(claimed) sends an aggregator's message for the \(requiredRole) role, key enrolled as \(peerRole ?? "no role")"
                )
            )
        }
        let keyClass = peerRole.flatMap(deviceClass(ofRole:))
        let speaksForClaim =
            claimed == userId
            || (isEdgeRole(peerRole) && claimed.utf8.count > userId.utf8.count + 1
                && claimed.hasPrefix(userId + "/"))
        guard speaksForClaim else {
            return .failure(
                WireError(
                    code: .senderMismatch,
                    detail: "claims \(claimed), key enrolled as \(userId) (\(peerRole ?? "no role"))"
                )
            )
        }
        // A device's message (check-in, update, decline) only from a device's or an edge's key:
        // the observer key `audit tail` uses, a shard's or the global aggregator's would
        // otherwise join the population in its own name, of any class, and reach the sum.
        if deviceClass != nil, keyClass == nil {
            return .failure(
                WireError(
                    code: .unauthorizedSender,
                    detail:
                        "\(claimed) sends a device's message, key enrolled as \(peerRole ?? "no role"), not a device"
                )
            )
        }
        if let keyClass, let deviceClass, keyClass != deviceClass {
            return .failure(
                WireError(
                    code: .wrongDeviceClass,
                    detail: "\(claimed) sends as a \(deviceClass.rawValue), key enrolled as \(peerRole ?? "")"
                )
            )
        }
        return .success(PeerIdentity(claimed: claimed, authenticated: claimed))
    }

    /// The class a `device:<class>` or `edge:<class>` role is bound to.
    public static func deviceClass(ofRole role: String) -> DeviceClassName? {
        for prefix in ["device:", "edge:"] where role.hasPrefix(prefix) {
            return DeviceClassName(rawValue: String(role.dropFirst(prefix.count)))
        }
        return nil
    }

    static func isEdgeRole(_ role: String?) -> Bool { role?.hasPrefix("edge:") ?? false }

    /// The key role an aggregator's message needs (nil: the topic is not an aggregator's own).
    public static func requiredRole(of message: AnyMessage) -> String? {
        switch message {
        case .aggregatorHello(let hello):
            switch hello.body.tier {
            case .global: "global"
            case .region: "shard:\(hello.body.region?.rawValue ?? "")"
            }
        case .partial(let partial): "shard:\(partial.body.region.rawValue)"
        case .modelCandidate: "global"
        default: nil
        }
    }

    /// The device class a message names, for the class binding (nil: the topic names none).
    public static func deviceClass(of message: AnyMessage) -> DeviceClassName? {
        switch message {
        case .update(let update): update.body.deviceClass
        case .checkin(let checkin): checkin.body.deviceClass
        default: nil
        }
    }
}
