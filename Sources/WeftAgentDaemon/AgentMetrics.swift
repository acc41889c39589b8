import Foundation
import Prometheus
import WeftMetrics

/// The agent's Prometheus metrics and health, served on 127.0.0.1 (`--metrics-port`) by a
/// `MetricsService`:
/// `GET /metrics` (text exposition format) and `GET /healthz` (200 while the reconcile
/// loop is alive, 503 when it has not come round for three resync periods).
public final class AgentMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    public let reconciles: Counter
    public let reconcileFailures: Counter
    public let kernelWrites: Counter
    public let failedChanges: Counter
    public let refusedChanges: Counter
    public let softExpiries: Counter
    public let hardExpiries: Counter
    public let desiredRevision: Gauge
    public let desiredRefused: Counter
    public let appliedRevision: Gauge
    public let reconcileSeconds: Gauge
    // Controller mode (docs/operations.md#metrics).
    public let controllerConnected: Gauge
    public let controllerSnapshots: Counter
    public let controllerDeltas: Counter
    public let controllerReconnects: Counter
    public let acksFailed: Counter
    public let certificateExpiry: Gauge
    // CNI (docs/cni.md#metrics).
    public let podAddresses: Gauge
    private let lock = NSLock()
    private var lastLoop = Date()
    private var verdicts: [String: (packets: UInt64, counter: Counter)] = [:]
    private let staleAfter: TimeInterval

    public init(resync: TimeInterval) {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor { .weft("agent", metric, unit, help) }
        reconciles = registry.makeCounter(descriptor: name("reconciles", "total", "Reconciles run"))
        reconcileFailures = registry.makeCounter(descriptor: name("reconcile_errors", "total", "Reconciles that could not run (bad state, netlink failure)"))
        kernelWrites = registry.makeCounter(descriptor: name("kernel_writes", "total", "Netlink requests, BPF map writes and tc attachments made"))
        failedChanges = registry.makeCounter(descriptor: name("failed_changes", "total", "Changes the kernel refused (retried)"))
        refusedChanges = registry.makeCounter(descriptor: name("refused_changes", "total", "SA additions refused because the key was installed before"))
        softExpiries = registry.makeCounter(descriptor: name("sa_soft_expiries", "total", "SAs that reached their soft limit (rotation due)"))
        hardExpiries = registry.makeCounter(descriptor: name("sa_hard_expiries", "total", "SAs the kernel deleted at their hard limit"))
        desiredRevision = registry.makeGauge(descriptor: name("desired", "revision", "Revision of the desired state last loaded"))
        desiredRefused = registry.makeCounter(descriptor: name("desired_refused", "total", "Desired states refused (malformed or invalid); the previous one stays"))
        appliedRevision = registry.makeGauge(descriptor: name("applied", "revision", "Revision last applied without failures"))
        reconcileSeconds = registry.makeGauge(descriptor: name("last_reconcile", "seconds", "Duration of the last reconcile"))
        controllerConnected = registry.makeGauge(descriptor: name("controller_connected", "", "1 while the watch stream from the controller is open"))
        controllerSnapshots = registry.makeCounter(descriptor: name("controller_snapshots", "total", "Full desired states received from the controller"))
        controllerDeltas = registry.makeCounter(descriptor: name("controller_deltas", "total", "Desired-state deltas received from the controller"))
        controllerReconnects = registry.makeCounter(descriptor: name("controller_reconnects", "total", "Watch streams lost and retried"))
        acksFailed = registry.makeCounter(descriptor: name("controller_acks_failed", "total", "Acknowledgements the controller did not receive"))
        certificateExpiry = registry.makeGauge(descriptor: name("certificate_expiry", "timestamp_seconds", "When the node certificate expires (Unix time)"))
        podAddresses = registry.makeGauge(descriptor: name("pod_addresses", "", "Pod addresses allocated on this node"))
        staleAfter = max(3 * resync, 10)
    }

    public func loopAlive() {
        lock.lock(); defer { lock.unlock() }
        lastLoop = Date()
    }

    /// Mirrors the filters' per-verdict packet counters (kernel counters only grow).
    public func record(verdicts latest: [(reason: String, packets: UInt64, bytes: UInt64)]) {
        lock.lock(); defer { lock.unlock() }
        for verdict in latest {
            let entry = verdictCounter(verdict.reason)
            if verdict.packets > entry.packets { entry.counter.increment(by: Int64(verdict.packets - entry.packets)) }
            verdicts[verdict.reason] = (verdict.packets, entry.counter)
        }
    }

    private func verdictCounter(_ reason: String) -> (packets: UInt64, counter: Counter) {
        if let entry = verdicts[reason] { return entry }
        let counter = registry.makeCounter(descriptor: .weft("bpf", "verdict_packets", "total", "Packets by trust-filter verdict"),
                                           labels: [("reason", reason)])
        return (0, counter)
    }

    /// nil while the reconcile loop comes round; otherwise why not (`/healthz`).
    public var unhealthy: String? {
        lock.lock(); defer { lock.unlock() }
        return Date().timeIntervalSince(lastLoop) < staleAfter ? nil : "reconcile loop stalled"
    }
}
