import Prometheus
import WeftCNI
import WeftMetrics

extension AgentMetrics {
    /// Buckets for CNI request durations: ADD's goal is p99 < 100 ms (docs/benchmarks.md).
    static let cniBuckets: [Duration] = [5, 10, 25, 50, 100, 250, 1000, 5000].map { .milliseconds($0) }

    /// Counts one CNI request by command (a name outside the spec's counts as "unknown",
    /// so a hostile caller cannot grow the label set) and result, and times it.
    func cniRequest(command: String, failed: Bool, seconds: Double) {
        let known = CNICommand(rawValue: command)?.rawValue ?? "unknown"
        registry.makeCounter(descriptor: .weft("agent", "cni_requests", "total", "CNI requests by command and result"),
                             labels: [("command", known), ("result", failed ? "error" : "ok")]).increment()
        registry.makeDurationHistogram(descriptor: .weft("agent", "cni_request", "seconds", "CNI request durations by command"),
                                       labels: [("command", known)], buckets: Self.cniBuckets)
            .record(.nanoseconds(Int64(seconds * 1e9)))
    }
}
