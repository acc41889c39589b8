import Foundation
import Prometheus
#if canImport(Glibc)
import Glibc
#endif

/// The daemons' scrape and probe endpoint: `GET /metrics` (Prometheus text exposition of
/// `registry`) and `GET /healthz` (200 "ok", or 503 with the reason `health` gives).
/// HTTP/1.0, one request per connection, on a thread of its own: a scrape never waits for
/// the daemon's work, and the daemon never waits for a scraper.
public final class MetricsEndpoint: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let registry: PrometheusCollectorRegistry
    /// nil: healthy; otherwise why not.
    let health: @Sendable () -> String?

    public init(registry: PrometheusCollectorRegistry, health: @escaping @Sendable () -> String?) {
        self.registry = registry
        self.health = health
    }

    /// Listens on `host:port` (an IPv4 address; 127.0.0.1 keeps it on the machine) and
    /// serves until the process ends. Throws when it cannot listen, naming why.
    public func serve(host: String, port: UInt16) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw Failure(description: "metrics: \"\(host)\" is not an IPv4 address")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "metrics: socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, 4)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "metrics: cannot listen on \(host):\(port): \(reason)")
        }
        Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { continue }
                var timeout = timeval(tv_sec: 2, tv_usec: 0)  // a silent client cannot hold the thread
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                respond(client)
                close(client)
            }
        }.start()
    }

    private func respond(_ client: Int32) {
        var request = [UInt8](repeating: 0, count: 2048)
        let count = read(client, &request, request.count)
        let line = String(decoding: request.prefix(max(count, 0)).prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let (status, body): (String, [UInt8])
        switch line.split(separator: " ").dropFirst().first {
        case "/metrics": (status, body) = ("200 OK", registry.emitToBuffer())
        case "/healthz":
            if let problem = health() { (status, body) = ("503 Service Unavailable", Array((problem + "\n").utf8)) }
            else { (status, body) = ("200 OK", Array("ok\n".utf8)) }
        default: (status, body) = ("404 Not Found", Array("not found\n".utf8))
        }
        let head = "HTTP/1.0 \(status)\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\n\r\n"
        let response = Array(head.utf8) + body
        _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
    }
}
