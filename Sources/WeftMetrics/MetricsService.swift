import ServiceLifecycle

/// A `MetricsEndpoint` as a service of a daemon's `ServiceGroup`: listening from the
/// moment it is made (so a port already taken fails the start, before anything else runs)
/// until the group shuts down.
public struct MetricsService: Service {
    public let endpoint: MetricsEndpoint

    /// Starts listening on `host:port` (port 0: any free port, see `endpoint.port`).
    public init(endpoint: MetricsEndpoint, host: String, port: UInt16) throws {
        self.endpoint = endpoint
        try endpoint.serve(host: host, port: port)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        endpoint.stop()
    }
}
