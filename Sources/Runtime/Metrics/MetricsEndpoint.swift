import Foundation
public import Prometheus
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Serves the Prometheus text exposition of a registry at `GET /metrics` on loopback or any host.
///
/// swift-prometheus only renders text; a few dozen lines of plain sockets serve it, so the
/// roles need no HTTP stack. Each request gets the whole current exposition and the connection
/// is closed (`Connection: close`), which is all a Prometheus scraper or `curl` needs.
public final class MetricsEndpoint: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let listener: Int32
    /// The TCP port actually bound (useful when 0 was asked for).
    public let port: Int
    private let stopped = Atomic<Bool>(false)

    /// Binds `host:port` (0 picks a free port) before returning, so a bad port fails at start-up.
    public init(registry: PrometheusCollectorRegistry, host: String = "127.0.0.1", port: Int) throws {
        self.registry = registry
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EndpointError(call: "socket", code: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "0.0.0.0" || host == "*" ? "0.0.0.0" : host, &address.sin_addr) == 1 else {
            close(fd)
            throw EndpointError(call: "inet_pton(\(host))", code: EINVAL)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0 else {
            let code = errno
            close(fd)
            throw EndpointError(call: "bind(\(host):\(port))", code: code)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
    }

    deinit { close(listener) }

    /// Serves requests on a dedicated thread until ``stop()``.
    public func start() {
        let thread = Thread { [self] in serve() }
        thread.name = "metrics"
        thread.start()
    }

    /// Stops serving within about 200 ms.
    public func stop() { stopped.store(true, ordering: .releasing) }

    /// Connections waiting for their request line, with the time they were accepted.
    private struct Pending {
        var fd: Int32
        var acceptedAt: ContinuousClock.Instant
        var request: [UInt8] = []
    }

    /// At most this many connections wait for a request at once; the oldest is dropped past it.
    static let maxPending = 32
    /// A connection that has not sent its request line within this time is closed.
    static let requestTimeout = Duration.seconds(2)

    /// One poll over the listener and every waiting connection: an idle or slow client (or five
    /// of them) never holds up a scrape, since no read blocks.
    private func serve() {
        var pending: [Pending] = []
        while !stopped.load(ordering: .acquiring) {
            var items = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            items += pending.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            guard poll(&items, nfds_t(items.count), 200) >= 0 else { continue }
            var keep: [Pending] = []
            for (index, var client) in pending.enumerated() {
                let events = items[index + 1].revents
                if events & Int16(POLLIN | POLLHUP | POLLERR) != 0, !readRequest(into: &client) {
                    close(client.fd)
                    continue
                }
                if ContinuousClock.now - client.acceptedAt > Self.requestTimeout {
                    close(client.fd)
                    continue
                }
                keep.append(client)
            }
            pending = keep
            if items[0].revents & Int16(POLLIN) != 0 {
                // Take every waiting connection (the listener is non-blocking), so a flood
                // cannot keep a scraper queued behind it in the backlog.
                for _ in 0..<(Self.maxPending * 4) {
                    let client = accept(listener, nil, nil)
                    guard client >= 0 else { break }
                    _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    if pending.count >= Self.maxPending { close(pending.removeFirst().fd) }
                    pending.append(Pending(fd: client, acceptedAt: .now))
                }
            }
        }
        for client in pending { close(client.fd) }
    }

    /// Reads what is there; answers once the request line is complete. `false`: close it now
    /// (answered, closed by the peer, or a request line that will not fit).
    private func readRequest(into client: inout Pending) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(client.fd, &buffer, buffer.count)
        guard count > 0 else { return count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) }
        client.request += buffer.prefix(count)
        guard let end = client.request.firstIndex(where: { $0 == 13 || $0 == 10 }) else {
            return client.request.count < 4096
        }
        respond(to: client.fd, firstLine: String(decoding: client.request[..<end], as: UTF8.self))
        return false
    }

    private func respond(to client: Int32, firstLine: String) {
        let response: [UInt8]
        if firstLine.hasPrefix("GET /metrics") {
            var body: [UInt8] = []
            registry.emit(into: &body)
            response = header(status: "200 OK", type: "text/plain; version=0.0.4", length: body.count) + body
        } else {
            let body = Array("not found: try GET /metrics\n".utf8)
            response = header(status: "404 Not Found", type: "text/plain", length: body.count) + body
        }
        // The socket is non-blocking; a response is small, so wait briefly for room if needed.
        var offset = 0
        let deadline = ContinuousClock.now + Self.requestTimeout
        while offset < response.count, ContinuousClock.now < deadline {
            let written = response[offset...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            if written > 0 {
                offset += written
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var item = pollfd(fd: client, events: Int16(POLLOUT), revents: 0)
                _ = poll(&item, 1, 100)
            } else {
                return
            }
        }
    }

    private func header(status: String, type: String, length: Int) -> [UInt8] {
        Array(
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8
        )
    }
}

/// A failed socket call of the metrics endpoint.
public struct EndpointError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}
