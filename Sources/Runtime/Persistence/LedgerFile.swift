import Foundation
import Privacy

#if canImport(Glibc)
import Glibc
#endif

/// The auditor's append-only ledger file: one JSON line per entry, fsynced before anyone is told,
/// and locked against a second auditor.
///
/// Kept open for the auditor's life; every append is `write` + `fsync`, so an approval the
/// coordinator has seen is always on disk, and a restarted auditor forgets nothing it approved.
/// The exclusive `flock` is taken before the file is read: two auditors appending to one file
/// would each extend the chain from the same head and fork it, and each would spend budget the
/// other does not know about.
final class LedgerFile {
    let path: String
    /// The lines the file held when it was opened and locked (none for a new file).
    let existingLines: [String]
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PersistenceError(path: path, call: "open", code: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw RoleError(
                    "refusing to start: another auditor holds the ledger \(path) (flock); two auditors on one ledger would fork its chain — stop the other auditor or give this one another --ledger-file"
                )
            }
            throw PersistenceError(path: path, call: "flock", code: code)
        }
        self.fd = fd
        AtomicFile.syncDirectory(directory)
        existingLines = LedgerChain.lines(fromFileContents: try String(contentsOfFile: path, encoding: .utf8))
    }

    /// Closing the descriptor releases the lock.
    deinit { close(fd) }

    func append(_ line: String) throws {
        try writeAndSync(Array((line + "\n").utf8), to: fd, path: path)
    }
}

/// Writes every byte (retrying on EINTR and short writes), then fsyncs.
func writeAndSync(_ bytes: [UInt8], to fd: Int32, path: String) throws {
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
