import ArgumentParser
import Foundation
import Runtime
import ZeroMQ

extension FedPulse {
    /// Makes CURVE key pairs so that transport security needs no external tool.
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a CURVE key pair (Z85) for transport security.",
            discussion: """
                Prints the pair as JSON, or writes NAME.key (secret, mode 0600) and NAME.pub \
                into --out. With --enroll FILE --role ROLE it also appends `NAME ROLE PUBLIC-KEY` \
                to the enrolment file every role reads as its allowlist (roles: coordinator, \
                auditor, global, observer, shard:<class>, device:<class>, edge:<class>; NAME is \
                the id the party sends as its sender, e.g. region-watch-0 or watch-3; an edge key \
                NAME speaks for the devices it hosts, ids NAME/<suffix> of its class, and NAME \
                may not contain /).
                """
        )

        @Option(
            name: [.customLong("out"), .customLong("out-dir")],
            help: "Write NAME.key and NAME.pub into this directory instead of printing JSON."
        )
        var outDir: String?

        @Option(help: "Base name of the key files, and the enrolled name with --enroll.")
        var name: String = "fedpulse"

        @Option(help: "Append the new public key to this enrolment file (created if missing).")
        var enroll: String?

        @Option(help: "The role enrolled with --enroll.")
        var role: String?

        func validate() throws {
            if enroll != nil {
                guard let role, Enrolment(entries: []).validating(role: role) else {
                    throw ValidationError(
                        "--enroll needs --role coordinator|auditor|global|observer|shard:<class>|device:<class>|edge:<class>"
                    )
                }
                guard outDir != nil else { throw ValidationError("--enroll needs --out DIR for the secret key") }
            }
        }

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
            // The key directory's writer: the secret goes into a file that is already 0600. An
            // atomic write renamed a file of the umask's mode (0644) into place and only then
            // narrowed it, so other users of the machine could read the secret in between.
            try KeyDirectory(path: directory.path).write(pair, name: name)
            let secretURL = directory.appendingPathComponent("\(name).key")
            let publicURL = directory.appendingPathComponent("\(name).pub")
            print("wrote \(secretURL.path) and \(publicURL.path)")
            if let enroll, let role {
                try Enrolment.append(name: name, role: role, publicKey: pair.publicKey, to: enroll)
                print("enrolled \(name) as \(role) in \(enroll)")
            }
        }
    }
}
