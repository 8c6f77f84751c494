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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
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

    private func serve() {
        while !stopped.load(ordering: .acquiring) {
            var item = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&item, 1, 200) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            respond(to: client)
            close(client)
        }
    }

    private func respond(to client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request = [UInt8](repeating: 0, count: 4096)
        let count = read(client, &request, request.count)
        guard count > 0 else { return }
        let firstLine = String(decoding: request.prefix(count).prefix(while: { $0 != 13 && $0 != 10 }), as: UTF8.self)
        let response: [UInt8]
        if firstLine.hasPrefix("GET /metrics") {
            var body: [UInt8] = []
            registry.emit(into: &body)
            response = header(status: "200 OK", type: "text/plain; version=0.0.4", length: body.count) + body
        } else {
            let body = Array("not found: try GET /metrics\n".utf8)
            response = header(status: "404 Not Found", type: "text/plain", length: body.count) + body
        }
        var offset = 0
        while offset < response.count {
            let written = response[offset...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            offset += written
        }
    }

    private func header(status: String, type: String, length: Int) -> [UInt8] {
        Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n".utf8)
    }
}

/// A failed socket call of the metrics endpoint.
public struct EndpointError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: strerror(code)))" }
}
