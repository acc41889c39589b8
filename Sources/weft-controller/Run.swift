import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import WeftController
import WeftFiles
import WeftMetrics
import WeftKubernetes
import WeftModel

/// The cluster file, or, when it is refused, the last spec this controller planned (kept
/// in the state directory): a file caught half-edited must not keep the controller down.
func startingSpec(_ options: ControllerOptions, _ logger: Logger) throws -> ClusterSpec {
    if options.source == .kubernetes { return try kubernetesStartingSpec(options) }
    do {
        return try ClusterFile.load(options.cluster)
    } catch {
        guard let last = try ControlPlane.lastGoodSpec(in: options.stateDirectory) else { throw error }
        logger.error("cluster file refused; starting from the last good cluster spec until it is fixed",
                     metadata: ["problems": "\(error)", "last_good": "\(options.stateDirectory)/cluster.last-good.json"])
        return last
    }
}

/// With the API as the source the cluster file holds only settings; the plan starts from
/// the last spec this controller planned (warm: agents keep their state while the first
/// list runs), with the file's settings.
func kubernetesStartingSpec(_ options: ControllerOptions) throws -> ClusterSpec {
    let settings = try ClusterFile.load(options.cluster)
    guard settings.nodes.isEmpty, settings.pods.isEmpty, settings.networkPolicies.isEmpty, settings.policies.isEmpty, settings.namespaces.isEmpty else {
        throw ValidationError("\(options.cluster): with --source kubernetes nodes, pods, namespaces and policies come from the API; the file holds only cluster and encryption")
    }
    guard var last = try ControlPlane.lastGoodSpec(in: options.stateDirectory) else { return settings }
    last.cluster = settings.cluster
    last.encryption = settings.encryption
    last.revoked = settings.revoked
    return last
}

/// Every connection, file and socket is a descriptor: take the whole hard limit the
/// process may have, so the listeners' connection limits, not the descriptor table, are
/// what refuses a flood.
func raiseDescriptorLimit(_ logger: Logger) {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) != 0 { logger.warning("cannot raise the descriptor limit", metadata: ["error": "\(errnoText())"]) }
}

/// `weft-controller run`: serve until SIGTERM or SIGINT, then stop serving, sign the audit
/// log's tail and exit 0. The cluster file is watched: a valid change is planned and pushed
/// as deltas; an invalid one is logged with every problem and its line, and the previous
/// state stays in force.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the control plane for the cluster file.")

    @OptionGroup var options: ControllerOptions

    func run() async throws {
        unblockStopSignals()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "weft-controller")
        raiseDescriptorLimit(logger)
        let spec = try startingSpec(options, logger)
        let plane = try ControlPlane(stateDirectory: options.stateDirectory, spec: spec)
        if let tail = plane.unattestedAuditTail {
            logger.warning("audit log: entries past the last checkpoint at start (a crash, or lines added while stopped); the next checkpoint marks them unattested",
                           metadata: ["seq": "\(tail.lowerBound)-\(tail.upperBound)"])
        }
        let kubernetes = try options.source == .kubernetes ? KubernetesClient(endpoint: kubernetesEndpoint()) : nil
        if let kubernetes {
            let account = options.agentServiceAccount.split(separator: "/").map(String.init)
            let review = ServiceAccountReview(client: kubernetes, audience: options.joinAudience, namespace: account[0], serviceAccount: account[1])
            plane.serviceAccountJoins.withLockedValue { $0 = review }
        }
        let source: any ClusterSource = if let kubernetes {
            KubernetesSource(client: kubernetes, settings: try ClusterFile.load(options.cluster),
                             options: .init(nodeAddressType: options.nodeAddressType), metrics: plane.metrics, logger: logger)
        } else {
            ClusterFileSource(path: options.cluster)
        }
        let conditions: [any Service] = kubernetes.map { [NodeConditionService(conditions: NodeConditions(client: $0, logger: logger), plane: plane)] } ?? []
        let group = ServiceGroup(configuration: .init(services: (try services(plane, source, logger) + conditions).map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("serving", metadata: ["nodes": "\(options.listen)", "join": "\(options.joinListen)",
                                          "state": "\(options.stateDirectory)", "cluster": "\(spec.cluster.name)",
                                          "admin": "\(options.adminSocketPath)", "metrics": "\(options.metricsListen)"])
        do { try await group.run() } catch {
            try? await kubernetes?.shutdown()
            throw error
        }
        try await kubernetes?.shutdown()
        try await plane.checkpoint()
        plane.close()
        logger.info("stopped; audit log checkpointed")
    }

    /// Metrics first (a port in use fails the start), then the listeners, the cluster
    /// source and the rotation timer.
    private func kubernetesEndpoint() throws -> KubernetesEndpoint {
        if let path = options.kubeconfig { return try KubernetesEndpoint.kubeconfig(path) }
        return try KubernetesEndpoint.inCluster()
    }

    private func services(_ plane: ControlPlane, _ source: any ClusterSource, _ logger: Logger) throws -> [any Service] {
        let options = options
        let makeServer: @Sendable () throws -> ControlServer = {
            try ControlServer(plane: plane, nodeListen: options.listenEndpoint, joinListen: options.joinListenEndpoint,
                              names: options.advertisedNames, addresses: options.advertisedAddresses,
                              adminSocket: options.adminSocketPath)
        }
        let metrics = options.metricsEndpoint
        return [
            try MetricsService(endpoint: MetricsEndpoint(registry: plane.metrics.registry, health: { nil }),
                               host: metrics.host, port: UInt16(metrics.port)),
            ServerService(server: try makeServer(), make: makeServer, plane: plane, logger: logger),
            ClusterSourceService(source: source, plane: plane, logger: logger),
            RotationTimer(plane: plane, logger: logger),
        ]
    }
}
