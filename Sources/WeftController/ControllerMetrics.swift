import Foundation
import Prometheus
import WeftMetrics

/// The controller's Prometheus metrics (docs/operations.md#metrics), updated by
/// `ControlPlane` as things happen and served by `weft-controller run` on
/// `--metrics-listen`. Per-node series carry a `node` label.
public final class ControllerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let connectedAgents: Gauge
    let activeNodes: Gauge
    let certificatesIssued: Counter
    let certificatesRenewed: Counter
    let joinsRefused: Counter
    let revocations: Counter
    let rotationsStarted: Counter
    let streamsDropped: Counter
    let connectionsRefused: Counter
    let currentEpoch: Gauge
    let policyPartsUnenforced: Gauge
    let objectsNotPlanned: Gauge
    /// Seconds from a node's first unacknowledged desired revision to its acknowledgement
    /// of the latest one: how long the cluster takes to reach a node.
    let convergence: ValueHistogram

    public init() {
        func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor { .weft("controller", metric, unit, help) }
        connectedAgents = registry.makeGauge(descriptor: name("connected_agents", "", "Nodes with an open watch stream"))
        activeNodes = registry.makeGauge(descriptor: name("active_nodes", "", "Nodes that joined and are not revoked"))
        certificatesIssued = registry.makeCounter(descriptor: name("certificates_issued", "total", "Node certificates issued on join"))
        certificatesRenewed = registry.makeCounter(descriptor: name("certificates_renewed", "total", "Node certificates issued on renewal"))
        joinsRefused = registry.makeCounter(descriptor: name("joins_refused", "total", "Joins refused (malformed request, bad CSR, bad, spent or expired token, unknown or revoked node)"))
        revocations = registry.makeCounter(descriptor: name("revocations", "total", "Nodes revoked"))
        rotationsStarted = registry.makeCounter(descriptor: name("rotations_started", "total", "Key rotations started"))
        streamsDropped = registry.makeCounter(descriptor: name("watch_streams_dropped", "total", "Watch streams ended because their reader fell behind"))
        connectionsRefused = registry.makeCounter(descriptor: name("connections_refused", "total", "Connections closed on accept: a listener's connection limit was reached"))
        currentEpoch = registry.makeGauge(descriptor: name("epoch", "", "Current key epoch"))
        objectsNotPlanned = registry.makeGauge(descriptor: name("objects_not_planned", "", "Kubernetes source: Nodes, Pods and NetworkPolicies left out of the plan (each logged and given an Event with the reason)"))
        policyPartsUnenforced = registry.makeGauge(descriptor: name("policy_parts_unenforced", "", "Parts of the cluster's policies the datapath does not enforce yet (egress, ipBlock, named ports, SCTP, wide ranges)"))
        convergence = registry.makeValueHistogram(descriptor: name("convergence", "seconds", "Time until a node acknowledged its latest desired state"),
                                                  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300])
    }

    /// Desired minus acknowledged revision of `node` (0: converged).
    func setRevisionLag(_ node: String, _ lag: UInt64) {
        registry.makeGauge(descriptor: .weft("controller", "revision_lag", "", "Desired minus acknowledged revision per node"),
                           labels: [("node", node)]).set(Double(lag))
    }
}
