import Prometheus

extension MetricNameDescriptor {
    /// A Weft metric: `weft_SUBSYSTEM_METRIC_UNIT` (docs/operations.md#metrics).
    public static func weft(_ subsystem: String, _ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "weft", subsystem: subsystem, metricName: metric, unitName: unit, helpText: help)
    }
}
