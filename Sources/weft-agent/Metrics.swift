import Foundation
import Prometheus
import WeftAgent
#if canImport(Glibc)
import Glibc
#endif

/// The agent's Prometheus metrics and health, served on 127.0.0.1 (`--metrics-port`):
/// `GET /metrics` (text exposition format) and `GET /healthz` (200 while the reconcile
/// loop is alive, 503 when it has not come round for three resync periods).
final class AgentMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    let reconciles: Counter
    let reconcileFailures: Counter
    let kernelWrites: Counter
    let failedChanges: Counter
    let refusedChanges: Counter
    let softExpiries: Counter
    let hardExpiries: Counter
    let desiredRevision: Gauge
    let appliedRevision: Gauge
    let reconcileSeconds: Gauge
    private let lock = NSLock()
    private var lastLoop = Date()
    private var verdicts: [String: (packets: UInt64, counter: Counter)] = [:]
    private let staleAfter: TimeInterval

    init(resync: TimeInterval) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "weft", subsystem: "agent", metricName: metric, unitName: unit, helpText: help)
        }
        reconciles = registry.makeCounter(descriptor: name("reconciles", "total", "Reconciles run"))
        reconcileFailures = registry.makeCounter(descriptor: name("reconcile_errors", "total", "Reconciles that could not run (bad state, netlink failure)"))
        kernelWrites = registry.makeCounter(descriptor: name("kernel_writes", "total", "Netlink requests, BPF map writes and tc attachments made"))
        failedChanges = registry.makeCounter(descriptor: name("failed_changes", "total", "Changes the kernel refused (retried)"))
        refusedChanges = registry.makeCounter(descriptor: name("refused_changes", "total", "SA additions refused because the key was installed before"))
        softExpiries = registry.makeCounter(descriptor: name("sa_soft_expiries", "total", "SAs that reached their soft limit (rotation due)"))
        hardExpiries = registry.makeCounter(descriptor: name("sa_hard_expiries", "total", "SAs the kernel deleted at their hard limit"))
        desiredRevision = registry.makeGauge(descriptor: name("desired", "revision", "Revision of the desired state last loaded"))
        appliedRevision = registry.makeGauge(descriptor: name("applied", "revision", "Revision last applied without failures"))
        reconcileSeconds = registry.makeGauge(descriptor: name("last_reconcile", "seconds", "Duration of the last reconcile"))
        staleAfter = max(3 * resync, 10)
    }

    func loopAlive() {
        lock.lock(); defer { lock.unlock() }
        lastLoop = Date()
    }

    /// Mirrors the filters' per-verdict packet counters (kernel counters only grow).
    func record(verdicts latest: [(reason: String, packets: UInt64, bytes: UInt64)]) {
        lock.lock(); defer { lock.unlock() }
        for verdict in latest {
            let entry = verdictCounter(verdict.reason)
            if verdict.packets > entry.packets { entry.counter.increment(by: Int64(verdict.packets - entry.packets)) }
            verdicts[verdict.reason] = (verdict.packets, entry.counter)
        }
    }

    private func verdictCounter(_ reason: String) -> (packets: UInt64, counter: Counter) {
        if let entry = verdicts[reason] { return entry }
        let counter = registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "weft", subsystem: "bpf", metricName: "verdict_packets",
                                                                             unitName: "total", helpText: "Packets by trust-filter verdict"),
                                           labels: [("reason", reason)])
        return (0, counter)
    }

    private var healthy: Bool {
        lock.lock(); defer { lock.unlock() }
        return Date().timeIntervalSince(lastLoop) < staleAfter
    }

    /// Serves on 127.0.0.1:`port` from a thread of its own.
    func serve(port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw UsageError(message: "metrics: socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, 4)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            throw UsageError(message: "metrics: cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { continue }
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
        case "/healthz": (status, body) = healthy ? ("200 OK", Array("ok\n".utf8)) : ("503 Service Unavailable", Array("reconcile loop stalled\n".utf8))
        default: (status, body) = ("404 Not Found", Array("not found\n".utf8))
        }
        let head = "HTTP/1.0 \(status)\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\n\r\n"
        let response = Array(head.utf8) + body
        _ = response.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
    }
}
