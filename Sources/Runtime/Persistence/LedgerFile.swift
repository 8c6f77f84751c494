import Foundation
import Privacy

#if canImport(Glibc)
import Glibc
#endif

/// The auditor's append-only ledger file: one JSON line per entry, fsynced before anyone is told.
///
/// Kept open for the auditor's life; every append is `write` + `fsync`, so an approval the
/// coordinator has seen is always on disk, and a restarted auditor forgets nothing it approved.
final class LedgerFile {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PersistenceError(path: path, call: "open", code: errno) }
        AtomicFile.syncDirectory(directory)
    }

    deinit { close(fd) }

    /// The lines already in a ledger file (none if it does not exist yet).
    static func existingLines(at path: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return LedgerChain.lines(fromFileContents: try String(contentsOfFile: path, encoding: .utf8))
    }

    func append(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw PersistenceError(path: path, call: "write", code: errno)
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw PersistenceError(path: path, call: "fsync", code: errno) }
    }
}
