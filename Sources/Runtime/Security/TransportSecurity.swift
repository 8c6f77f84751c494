import Foundation
public import Logging
import Metrics
import Synchronization
public import ZeroMQ

/// How a role's sockets are secured: CURVE on every socket with an enrolment allowlist, or
/// nothing at all (`insecure`, which every log line then says).
///
/// A role makes one of these at start-up, calls ``start(context:logger:)`` before it binds
/// anything (the ZAP handler must exist before the first CURVE server), then passes every socket
/// through ``secureServer(_:)`` before `bind` and ``secureClient(_:of:)`` before `connect`.
public final class TransportSecurity: Sendable {
    public enum Mode: Sendable, Equatable {
        case insecure
        /// Own key pair and where the enrolment file lives (re-read when it changes).
        case curve(keys: CurveKeyPair, enrolmentPath: String)
    }

    public let mode: Mode
    private let enrolment: Mutex<Enrolment>
    private let handler = Mutex<ZAPHandler?>(nil)
    private let watcherStopped = Atomic<Bool>(false)
    /// The enrolment file's state just before it was loaded: the watcher compares with this, so
    /// a change made before the watcher thread first runs (a loaded machine) is still reloaded.
    private let loadedState: String

    /// No transport security; every role's default until keys are configured.
    public static let insecure = TransportSecurity(insecure: ())

    private init(insecure: Void) {
        mode = .insecure
        enrolment = Mutex(Enrolment())
        loadedState = ""
    }

    public init(mode: Mode) throws {
        self.mode = mode
        if case .curve(_, let path) = mode {
            loadedState = Self.modification(of: path)
            enrolment = Mutex(try Enrolment.load(path: path))
        } else {
            loadedState = ""
            enrolment = Mutex(Enrolment())
        }
    }

    /// Reads a role's secret key file (Z85, as `fedpulse keygen` writes it) and the enrolment file.
    public static func curve(secretKeyFile: String, enrolmentFile: String) throws -> TransportSecurity {
        let secret: String
        do {
            secret = try String(contentsOfFile: secretKeyFile, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines
            )
        } catch {
            throw EnrolmentError("cannot read the CURVE secret key \(secretKeyFile): \(error.localizedDescription)")
        }
        guard secret.utf8.count == 40 else {
            throw EnrolmentError("\(secretKeyFile) does not hold a 40-character Z85 secret key")
        }
        let publicKey: String
        do { publicKey = try CurveKeyPair.publicKey(forSecret: secret) } catch {
            throw EnrolmentError("\(secretKeyFile) is not a CURVE secret key: \(error)")
        }
        return try TransportSecurity(
            mode: .curve(keys: CurveKeyPair(publicKey: publicKey, secretKey: secret), enrolmentPath: enrolmentFile)
        )
    }

    public var isSecure: Bool { mode != .insecure }

    /// `curve` or `insecure`, for log metadata, metrics and the compliance report.
    public var label: String { isSecure ? "curve" : "insecure" }

    /// The enrolment in force (reloaded when the file changes).
    public var current: Enrolment { enrolment.withLock { $0 } }

    /// Whether a message that came in under `name`, on a connection whose handshake proved
    /// `publicKey`, may still count: that key is enrolled now, under that name.
    ///
    /// libzmq asks the ZAP handler at the handshake only, so without this check a revoked key
    /// would keep speaking on the connection it already had, for as long as the peer keeps it up.
    public func stillAdmits(name: String, publicKey: String?) -> Bool {
        guard isSecure else { return true }
        guard let publicKey else { return false }
        return handler.withLock { $0?.current.name(forPublicKey: publicKey) } == name
    }

    /// This process's own enrolment line, found by its public key (an edge learns its name `E`
    /// and role `edge:<class>` this way); nil when insecure or not enrolled.
    public var ownEntry: Enrolment.Entry? {
        guard case .curve(let keys, _) = mode else { return nil }
        return current.entry(forPublicKey: keys.publicKey)
    }

    /// Starts the ZAP handler in `context` and the enrolment watcher; a no-op when insecure.
    ///
    /// Refusals are logged with the key and address and counted in
    /// `fedpulse_handshakes_refused_total`; an enrolment file that changes on disk replaces the
    /// allowlist within about a second (revocation without a restart), and one that no longer
    /// parses is logged and ignored (the last good allowlist stays in force).
    public func start(context: Context, logger: Logger) throws {
        guard case .curve(_, let path) = mode else {
            logger.warning(
                "transport security is OFF: messages travel unencrypted and unauthenticated",
                metadata: ["transport": "insecure"]
            )
            return
        }
        let refused = Counter(label: "fedpulse_handshakes_refused_total")
        let zap = ZAPHandler(context: context, allowlist: current.allowlist) { decision in
            guard !decision.isAccepted else { return }
            refused.increment()
            logger.warning(
                "connection refused: key not enrolled",
                metadata: [
                    "peer.address": "\(decision.address)", "peer.key": "\(decision.publicKey)",
                    "peer.mechanism": "\(decision.mechanism)",
                ]
            )
        }
        try zap.start()
        handler.withLock { $0 = zap }
        logger.info(
            "transport security: CURVE with enrolment allowlist",
            metadata: [
                "transport": "curve", "enrolment.path": "\(path)", "enrolment.count": "\(current.entries.count)",
            ]
        )
        let thread = Thread { [self] in watch(path: path, logger: logger) }
        thread.name = "enrolment-watch"
        thread.start()
    }

    /// Stops the ZAP handler and the watcher.
    public func stop() {
        watcherStopped.store(true, ordering: .releasing)
        handler.withLock { $0?.stop() }
    }

    /// Re-reads the enrolment now (tests, SIGHUP); `false` when the file does not parse.
    @discardableResult
    public func reload(logger: Logger) -> Bool {
        guard case .curve(_, let path) = mode else { return true }
        do {
            let fresh = try Enrolment.load(path: path)
            enrolment.withLock { $0 = fresh }
            handler.withLock { $0?.update(fresh.allowlist) }
            logger.info(
                "enrolment reloaded",
                metadata: ["enrolment.path": "\(path)", "enrolment.count": "\(fresh.entries.count)"]
            )
            return true
        } catch {
            logger.error(
                "enrolment file no longer parses; keeping the previous allowlist",
                metadata: ["error": "\(error)"]
            )
            return false
        }
    }

    private func watch(path: String, logger: Logger) {
        var last = loadedState
        while !watcherStopped.load(ordering: .acquiring) {
            Thread.sleep(forTimeInterval: 0.25)
            let now = Self.modification(of: path)
            if now != last {
                last = now
                reload(logger: logger)
            }
        }
    }

    /// What changes when the enrolment changes: the file's real path, date and size.
    ///
    /// Symlinks are resolved first: a Kubernetes ConfigMap volume swaps a `..data` symlink to a
    /// new folder, and the attributes of the link path alone never change (measured).
    private static func modification(of path: String) -> String {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) else { return "" }
        let date = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        return "\(resolved)|\(date)|\(size)"
    }

    // MARK: Sockets

    /// Makes a socket that binds a CURVE server under this process's ZAP handler.
    public func secureServer(_ socket: borrowing Socket) throws {
        guard case .curve(let keys, _) = mode else { return }
        try socket.makeCurveServer(secretKey: keys.secretKey)
        try socket.setZAPDomain("fedpulse")
    }

    /// Makes a socket a CURVE client of the server enrolled as `serverName`, before `connect`.
    ///
    /// libzmq reads the server key at each `connect`, so a socket that moves to another shard
    /// calls this again with the new shard's name first.
    public func secureClient(_ socket: borrowing Socket, of serverName: String) throws {
        guard case .curve(let keys, _) = mode else { return }
        guard let serverKey = current.publicKey(of: serverName) else {
            throw EnrolmentError("\(serverName) is not in the enrolment file: cannot check who answers at its endpoint")
        }
        try socket.makeCurveClient(serverPublicKey: serverKey, keys: keys)
    }

    /// The same, with another key pair of this process (one per virtual device of an edge).
    public func secureClient(_ socket: borrowing Socket, of serverName: String, as keys: CurveKeyPair) throws {
        guard isSecure else { return }
        guard let serverKey = current.publicKey(of: serverName) else {
            throw EnrolmentError("\(serverName) is not in the enrolment file: cannot check who answers at its endpoint")
        }
        try socket.makeCurveClient(serverPublicKey: serverKey, keys: keys)
    }
}
