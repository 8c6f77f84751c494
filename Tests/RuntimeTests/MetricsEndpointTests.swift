import FedPulseTestSupport
import Foundation
import Prometheus
import Testing

@testable import Runtime

#if canImport(Glibc)
import Glibc
#endif

@Suite(.timeLimit(.minutes(1)))
struct MetricsEndpointTests {
    /// Plays a peer that opens connections to `/metrics` and never sends a request: the endpoint
    /// used to read each one in turn with a 2 s timeout, so five of them stalled a scrape for 10 s
    /// (longer than the scraper's own 2 s timeout).
    @Test func idleConnectionsDoNotStallAScrape() throws {
        try expectScrapeWorks(besideIdleConnections: 5)
    }

    /// More waiting connections than the endpoint keeps: the oldest are dropped, scrapes still work.
    @Test func aFloodOfConnectionsIsBoundedAndScrapesStillWork() throws {
        try expectScrapeWorks(besideIdleConnections: MetricsEndpoint.maxPending * 2)
    }

    /// Serves a registry with one counter, opens `count` connections that never send a request,
    /// and scrapes with the test scraper's own 2 s timeout.
    private func expectScrapeWorks(besideIdleConnections count: Int) throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "fedpulse", metricName: "test", unitName: "total", helpText: "test")
        ).increment(by: Int64(3))
        let endpoint = try MetricsEndpoint(registry: registry, port: 0)
        endpoint.start()
        defer { endpoint.stop() }
        let idle = try (0..<count).map { _ in try connectIdle(port: endpoint.port) }
        defer { for fd in idle { close(fd) } }
        #expect(try PrometheusScraper(port: endpoint.port).scrapeBlocking().value("fedpulse_test_total") == 3)
    }

    private func connectIdle(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(result == 0)
        return fd
    }
}
