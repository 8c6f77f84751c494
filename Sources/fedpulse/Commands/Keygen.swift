import ArgumentParser
import Foundation
import ZeroMQ

extension FedPulse {
    /// Makes CURVE key pairs so that transport security needs no external tool.
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a CURVE key pair (Z85) for transport security.",
            discussion: """
                Prints the pair as JSON, or writes NAME.key (secret, mode 0600) and NAME.pub \
                into --out-dir. Put public keys in the allowlist of the roles that accept them.
                """
        )

        @Option(help: "Write NAME.key and NAME.pub into this directory instead of printing JSON.")
        var outDir: String?

        @Option(help: "Base name of the key files written with --out-dir.")
        var name: String = "fedpulse"

        func run() throws {
            let pair = try CurveKeyPair.generate()
            guard let outDir else {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(pair), as: UTF8.self))
                return
            }
            let directory = URL(fileURLWithPath: outDir, isDirectory: true)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let secretURL = directory.appendingPathComponent("\(name).key")
            let publicURL = directory.appendingPathComponent("\(name).pub")
            try Data((pair.secretKey + "\n").utf8).write(to: secretURL, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secretURL.path)
            try Data((pair.publicKey + "\n").utf8).write(to: publicURL, options: .atomic)
            print("wrote \(secretURL.path) and \(publicURL.path)")
        }
    }
}
