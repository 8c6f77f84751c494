internal import CZeroMQ

/// A CURVE key pair in Z85 text (40 characters each), as `fedpulse keygen` writes them.
public struct CurveKeyPair: Sendable, Equatable, Codable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh key pair from libzmq's CSPRNG (libsodium underneath on Debian).
    public static func generate() throws(ZeroMQError) -> CurveKeyPair {
        var publicBuffer = [CChar](repeating: 0, count: 41)
        var secretBuffer = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_keypair") { zmq_curve_keypair(&publicBuffer, &secretBuffer) }
        return CurveKeyPair(publicKey: text(publicBuffer), secretKey: text(secretBuffer))
    }

    /// The public key that belongs to a secret key, so a key file needs only the secret.
    public static func publicKey(forSecret secretKey: String) throws(ZeroMQError) -> String {
        var publicBuffer = [CChar](repeating: 0, count: 41)
        try zmqCheck("zmq_curve_public") { zmq_curve_public(&publicBuffer, secretKey) }
        return text(publicBuffer)
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Socket {
    /// Makes this (binding) socket a CURVE server: every peer must handshake with our public key.
    ///
    /// Without a ZAP handler any client key is accepted; the allowlist lives in the handler.
    public func makeCurveServer(secretKey: String) throws(ZeroMQError) {
        try setInt32(ZMQ_CURVE_SERVER, 1, name: "ZMQ_CURVE_SERVER")
        try setBytes(ZMQ_CURVE_SECRETKEY, Array(secretKey.utf8), name: "ZMQ_CURVE_SECRETKEY")
    }

    /// Makes this (connecting) socket a CURVE client of the server whose public key is given.
    public func makeCurveClient(serverPublicKey: String, keys: CurveKeyPair) throws(ZeroMQError) {
        try setBytes(ZMQ_CURVE_SERVERKEY, Array(serverPublicKey.utf8), name: "ZMQ_CURVE_SERVERKEY")
        try setBytes(ZMQ_CURVE_PUBLICKEY, Array(keys.publicKey.utf8), name: "ZMQ_CURVE_PUBLICKEY")
        try setBytes(ZMQ_CURVE_SECRETKEY, Array(keys.secretKey.utf8), name: "ZMQ_CURVE_SECRETKEY")
    }
}
