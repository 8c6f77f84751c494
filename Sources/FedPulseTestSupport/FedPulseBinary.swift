public import Foundation

/// Finds the `fedpulse` executable the end-to-end tests start.
///
/// The tests run the product built beside them, never one on the `PATH`: a stale binary would
/// make a green run meaningless. `swift build --build-tests` puts `fedpulse` in the same
/// directory as the test bundle, whatever `--scratch-path` is.
public enum FedPulseBinary {
    /// A missing binary, with every place that was tried.
    public struct NotFound: Error, CustomStringConvertible {
        public let tried: [String]
        public var description: String {
            "no fedpulse executable; build it first (swift build --build-tests). Tried: \(tried.joined(separator: ", "))"
        }
    }

    /// `FEDPULSE_BINARY` if set; else the test bundle's directory; else `<repo>/.build/debug/fedpulse`.
    public static func locate(filePath: String = #filePath) throws -> URL {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["FEDPULSE_BINARY"], !override.isEmpty {
            candidates.append(URL(fileURLWithPath: override))
        }
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("fedpulse"))
        }
        if let first = CommandLine.arguments.first, !first.isEmpty {
            let url = URL(fileURLWithPath: first).resolvingSymlinksInPath()
            candidates.append(url.deletingLastPathComponent().appendingPathComponent("fedpulse"))
        }
        // Sources/FedPulseTestSupport/FedPulseBinary.swift → the repository root.
        let repository = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repository.appendingPathComponent(".build/debug/fedpulse"))
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate
        }
        throw NotFound(tried: candidates.map(\.path))
    }

    /// The repository root (for files such as `docker-compose.yml`), found from this source file.
    public static func repositoryRoot(filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}

/// Runs a short-lived program to completion and returns its exit status and output.
public enum ShortCommand {
    public struct Output: Sendable {
        public let status: Int32
        /// Standard output and standard error, interleaved.
        public let text: String
    }

    /// Runs `executable arguments…` on its own thread (it blocks until the program exits).
    public static func run(_ executable: URL, _ arguments: [String]) async throws -> Output {
        try await onOwnThread("e2e-command") {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            // Read to the end before waiting, so a full pipe cannot stall the child.
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Output(status: process.terminationStatus, text: String(decoding: data, as: UTF8.self))
        }
    }
}
