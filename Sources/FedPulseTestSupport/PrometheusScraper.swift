import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a role's `/metrics` over plain HTTP on loopback, as Prometheus would.
public struct PrometheusScraper: Sendable {
    public let port: Int

    public init(port: Int) {
        self.port = port
    }

    /// A failed scrape: the call that failed and why.
    public struct ScrapeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// One `GET /metrics`, parsed. Blocking (bounded by 2 s socket timeouts): call it off the pool.
    public func scrapeBlocking() throws -> MetricsSnapshot {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ScrapeError(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            throw ScrapeError(description: "connect 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw ScrapeError(description: "write: \(String(cString: strerror(errno)))") }
            sent += count
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count == 0 { break }
            guard count > 0 else { throw ScrapeError(description: "read: \(String(cString: strerror(errno)))") }
            response.append(contentsOf: buffer[0..<count])
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.1 200"), let split = text.range(of: "\r\n\r\n") else {
            throw ScrapeError(description: "unexpected response: \(text.prefix(200))")
        }
        return MetricsSnapshot(text: String(text[split.upperBound...]))
    }

    /// One scrape, run on its own thread.
    public func scrape() async throws -> MetricsSnapshot {
        let scraper = self
        return try await onOwnThread("e2e-scrape") { try scraper.scrapeBlocking() }
    }

    /// Scrapes every `interval` until `condition` holds or `timeout` passes; returns the last snapshot.
    ///
    /// This is polling with a deadline, not sleeping for synchronisation: it returns as soon as the
    /// metrics say so. Failed scrapes (the role still starting) count as "not yet".
    public func waitUntil(
        _ description: String,
        within timeout: Duration,
        interval: Duration = .milliseconds(25),
        _ condition: @escaping @Sendable (MetricsSnapshot) -> Bool
    ) async throws -> MetricsSnapshot {
        let scraper = self
        return try await onOwnThread("e2e-metrics-wait") {
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var last: MetricsSnapshot?
            var lastError: (any Error)?
            while true {
                do {
                    let snapshot = try scraper.scrapeBlocking()
                    if condition(snapshot) { return snapshot }
                    last = snapshot
                } catch {
                    lastError = error
                }
                guard clock.now < deadline else {
                    let seen = last.map { $0.fedpulseLines } ?? "no successful scrape (\(lastError.map { "\($0)" } ?? "-"))"
                    throw TimedOut(waitingFor: "\(description) on :\(scraper.port)/metrics (within \(timeout))", seen: seen)
                }
                var none: [pollfd] = []
                _ = poll(&none, 0, Int32(interval.components.seconds * 1_000 + interval.components.attoseconds / 1_000_000_000_000_000))
            }
        }
    }
}

/// A parsed Prometheus text exposition.
public struct MetricsSnapshot: Sendable, CustomStringConvertible {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public let samples: [Sample]

    public init(text: String) {
        samples = text.split(separator: "\n").compactMap { Self.parse(String($0)) }
    }

    /// The sum of every sample named `name` whose labels include `labels` (0 when none).
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }.reduce(0) { $0 + $1.value }
    }

    /// `fedpulse_rejected_total` by `reason`, for the given role.
    public func rejected(role: String) -> [String: Int] {
        var result: [String: Int] = [:]
        for sample in samples where sample.name == "fedpulse_rejected_total" && sample.labels["role"] == role {
            result[sample.labels["reason"] ?? "?", default: 0] += Int(sample.value)
        }
        return result.filter { $0.value != 0 }
    }

    /// The `fedpulse_` samples as text, for failure messages.
    public var fedpulseLines: String {
        samples.filter { $0.name.hasPrefix("fedpulse_") && !$0.name.contains("_bucket") }
            .map { "  \($0.name)\($0.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }) \($0.value)" }
            .joined(separator: "\n")
    }

    public var description: String { fedpulseLines }

    /// `name{a="x",b="y"} 1` or `name 1`; comments and blank lines give nil.
    static func parse(_ line: String) -> Sample? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
        var name = ""
        var labels: [String: String] = [:]
        var rest: Substring
        if let brace = trimmed.firstIndex(of: "{"), trimmed[..<brace].allSatisfy({ !$0.isWhitespace }) {
            name = String(trimmed[..<brace])
            var index = trimmed.index(after: brace)
            // key="value" pairs with \" \\ \n escapes, comma separated, up to the closing brace.
            while index < trimmed.endIndex, trimmed[index] != "}" {
                guard let equals = trimmed[index...].firstIndex(of: "=") else { return nil }
                let key = trimmed[index..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                var cursor = trimmed.index(after: equals)
                guard cursor < trimmed.endIndex, trimmed[cursor] == "\"" else { return nil }
                cursor = trimmed.index(after: cursor)
                var value = ""
                while cursor < trimmed.endIndex, trimmed[cursor] != "\"" {
                    if trimmed[cursor] == "\\" {
                        cursor = trimmed.index(after: cursor)
                        guard cursor < trimmed.endIndex else { return nil }
                        value.append(trimmed[cursor] == "n" ? "\n" : trimmed[cursor])
                    } else {
                        value.append(trimmed[cursor])
                    }
                    cursor = trimmed.index(after: cursor)
                }
                guard cursor < trimmed.endIndex else { return nil }
                labels[key] = value
                index = trimmed.index(after: cursor)
                if index < trimmed.endIndex, trimmed[index] == "," { index = trimmed.index(after: index) }
            }
            guard index < trimmed.endIndex else { return nil }
            rest = trimmed[trimmed.index(after: index)...]
        } else {
            guard let space = trimmed.firstIndex(where: \.isWhitespace) else { return nil }
            name = String(trimmed[..<space])
            rest = trimmed[space...]
        }
        let fields = rest.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = fields.first else { return nil }
        let text = String(first)
        let value: Double? =
            switch text {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(text)
            }
        guard let value else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }
}
