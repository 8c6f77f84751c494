import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that are either fully there or not at all, even across a crash.
///
/// Writes a temporary file beside the target, fsyncs it, renames it over the target and fsyncs
/// the directory: the POSIX recipe, so a coordinator killed mid-checkpoint resumes from the
/// previous complete one.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PersistenceError(path: temporary.path, call: "open", code: errno) }
        var failure: PersistenceError?
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = PersistenceError(path: temporary.path, call: "write", code: errno)
                    return
                }
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = PersistenceError(path: temporary.path, call: "fsync", code: errno) }
        close(fd)
        if let failure { throw failure }
        guard rename(temporary.path, url.path) == 0 else {
            throw PersistenceError(path: url.path, call: "rename", code: errno)
        }
        syncDirectory(directory)
    }

    static func syncDirectory(_ directory: URL) {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}

/// A file operation that failed, with the path and the system's reason.
public struct PersistenceError: Error, CustomStringConvertible {
    public let path: String
    public let call: String
    public let code: Int32
    public var description: String { "\(call) \(path): \(String(cString: strerror(code)))" }
}
