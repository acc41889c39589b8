import Foundation
import Prometheus
import Testing
@testable import WeftController
import WeftMetrics
import WeftPKI

/// Silent peers against the controller's listeners and the metrics endpoint: real TCP on
/// loopback. Outcomes are waited for with deadlines, never timed.
@Suite("silent connections: listeners and the metrics endpoint stay available")
struct ConnectionLimitTests {
    /// A TCP connection to 127.0.0.1:`port` that sends nothing.
    static func connect(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0 ? fd : -1
    }

    /// Whether the peer closed `fd` within `seconds` (a read returns 0 or fails).
    static func closedByPeer(_ fd: Int32, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 100) > 0 {
                var byte: UInt8 = 0
                if recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0 { return true }
            }
        }
        return false
    }

    /// One HTTP GET on its own connection; the status line, or nil when none came in time.
    static func get(_ port: Int, _ path: String, within seconds: Double = 10) -> String? {
        let fd = connect(port)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var reply = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &reply, reply.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: reply[..<count], as: UTF8.self).split(separator: "\r\n").first.map(String.init)
    }

    @Test("50 silent connections and a slow one: /healthz and /metrics still answer, and the silent ones are closed after the idle timeout")
    func metricsEndpoint() throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(name: "weft_test_total").increment()
        let endpoint = MetricsEndpoint(registry: registry, health: { nil }, idleTimeout: .seconds(1))
        try endpoint.serve(host: "127.0.0.1", port: 0)
        defer { endpoint.stop() }
        let silent = (0..<50).map { _ in Self.connect(endpoint.port) }
        defer { silent.forEach { close($0) } }
        #expect(silent.allSatisfy { $0 >= 0 })
        let slow = Self.connect(endpoint.port)
        _ = Array("GET /hea".utf8).withUnsafeBytes { send(slow, $0.baseAddress, $0.count, 0) }
        defer { close(slow) }
        #expect(Self.get(endpoint.port, "/healthz") == "HTTP/1.1 200 OK")
        #expect(Self.get(endpoint.port, "/metrics") == "HTTP/1.1 200 OK")
        #expect(Self.get(endpoint.port, "/nothing") == "HTTP/1.1 404 Not Found")
        #expect(silent.allSatisfy { Self.closedByPeer($0, within: 30) } && Self.closedByPeer(slow, within: 30), "idle connections were kept")
    }

    @Test("the join listener: connections past its limit are closed on accept, silent ones after the handshake deadline, and a join then works")
    func joinListener() async throws {
        var limits = ControlServer.Limits()
        limits.joinConnections = 4
        limits.handshakeTimeout = .seconds(1)
        let harness = try await ControlServiceTests.Harness(limits: limits)
        let held = (0..<4).map { _ in Self.connect(harness.joinPort) }
        defer { held.forEach { close($0) } }
        // Accepting is asynchronous: wait until the listener counts all four.
        for _ in 0..<100 where harness.server.joinGuard.count < 4 { try await Task.sleep(for: .milliseconds(50)) }
        let extra = Self.connect(harness.joinPort)
        defer { close(extra) }
        #expect(Self.closedByPeer(extra, within: 10), "a connection over the limit was kept")
        #expect(held.allSatisfy { Self.closedByPeer($0, within: 30) }, "silent connections outlived the handshake deadline")
        for _ in 0..<100 where harness.server.joinGuard.count > 0 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(harness.server.joinGuard.count == 0)
        _ = try await harness.join(NodeIdentity(name: "node1"))
        let metrics = String(decoding: harness.plane.metrics.registry.emitToBuffer(), as: UTF8.self)
        #expect(metrics.contains("weft_controller_connections_refused_total 1\n"), "the refused connection was not counted")
        await harness.stop()
    }
}
