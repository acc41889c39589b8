import Crypto
import Logging
import NIOPosix
import ServiceLifecycle
import UnixSignals
import WeftAgent
import WeftControlAPI
import WeftMetrics
import WeftModel

/// `weft-agent run` as a `ServiceGroup`: the desired-state source (a file or the
/// controller), the reconcile loop, kernel events (netlink, XFRM expiries), and in
/// controller mode certificate renewal and acknowledgements; /metrics and /healthz.
/// Blocking netlink work runs on the daemon's own kernel threads (one per blocking job),
/// never on the cooperative pool. A graceful shutdown stops every service and leaves the
/// datapath in place, for the next agent to adopt.
public final class AgentDaemon: Sendable {
    public let metrics: AgentMetrics
    public let metricsEndpoint: MetricsEndpoint
    let group: ServiceGroup
    let threads: NIOThreadPool
    let logger: Logger

    /// Builds the services; in controller mode joins first when the node has no
    /// certificate (so this waits for the controller then).
    public static func make(_ configuration: AgentConfiguration, logger: Logger,
                            signals: [UnixSignal] = []) async throws -> AgentDaemon {
        let metrics = AgentMetrics(resync: Double(configuration.resync.components.seconds))
        var services: [any Service] = []
        let source: any DesiredStateSource
        let privateKey: AgentKey
        var acknowledger: Acknowledger?
        switch configuration.source {
        case .file(let path, let keyFile):
            source = DesiredStateFile(path: path)
            privateKey = AgentKey(try AgentConfiguration.privateKey(file: keyFile))
        case .controller(let settings):
            let credentials = try NodeCredentials(name: settings.nodeName, stateDirectory: configuration.stateDirectory, caFile: settings.caFile)
            let link = ControllerLink(credentials: credentials, controller: settings.endpoint, joinEndpoint: settings.joinEndpoint,
                                      metrics: metrics, logger: logger)
            let joined = try await link.joinIfNeeded(token: settings.joinToken)
            source = ControllerWatch(link: link, desiredPath: NodeCredentials.desiredStatePath(stateDirectory: configuration.stateDirectory))
            privateKey = AgentKey(credentials.identity.keyAgreementKey)
            let ack = Acknowledger(link: link)
            acknowledger = ack
            services += [CertificateRenewal(link: link, announceIncarnation: credentials.freshIncarnation && !joined), ack]
        }
        return try AgentDaemon(configuration, logger: logger, metrics: metrics, source: source, privateKey: privateKey,
                               acknowledger: acknowledger, extra: services, signals: signals)
    }

    private init(_ configuration: AgentConfiguration, logger: Logger, metrics: AgentMetrics, source: any DesiredStateSource,
                 privateKey: AgentKey, acknowledger: Acknowledger?, extra: [any Service], signals: [UnixSignal]) throws {
        self.metrics = metrics
        self.logger = logger
        let reconciler = try configuration.makeReconciler(privateKey: privateKey.key)
        for name in reconciler.trust?.replacedPins ?? [] {
            logger.notice("BPF: pinned map had an older definition; replaced by a new, empty one", metadata: ["map": "\(name)"])
        }
        let wake = WakeSignal(), desired = DesiredStateBox(), expiries = ExpiryLog()
        // One thread per blocking job: the reconciles and the two event sockets.
        threads = NIOThreadPool(numberOfThreads: 3)
        let poll = configuration.kernelPollInterval, namespace = configuration.namespace
        metricsEndpoint = MetricsEndpoint(registry: metrics.registry, health: { metrics.unhealthy })
        let services: [any Service] = [
            try MetricsService(endpoint: metricsEndpoint, host: configuration.metricsHost, port: configuration.metricsPort),
            try NetlinkEventService.routeEvents(namespace: namespace, wake: wake, threads: threads, logger: logger, pollInterval: poll),
            try NetlinkEventService.expiries(namespace: namespace, log: expiries, metrics: metrics, wake: wake, threads: threads,
                                             logger: logger, pollInterval: poll),
            ReconcileService(reconciler: reconciler, desired: desired, wake: wake, threads: threads, resync: configuration.resync,
                             metrics: metrics, logger: logger) { state, report in
                acknowledger?.submit(Weft_V1_AckRequest(state: state, report: report, softExpired: expiries.drainSoft()))
            },
            DesiredStateService(source: source, desired: desired, wake: wake, expiries: expiries, metrics: metrics, logger: logger),
        ] + extra + (try configuration.cniSocket.map { path in
            let pool = try PodAddressPool(directory: configuration.ipamDirectory)
            for name in pool.unreadable { logger.warning("CNI: unreadable address record kept taken", metadata: ["file": "\(name)"]) }
            metrics.podAddresses.set(Double(pool.allocations.count))
            let handler = CNIHandler(pool: pool, desired: desired, namespace: namespace, trust: reconciler.trust,
                                     identityWait: configuration.cniIdentityWait, metrics: metrics, logger: logger)
            do { try handler.syncPodFilters() } catch { logger.error("pod filters not brought in line", metadata: ["error": "\(error)"]) }
            let server: [any Service] = [try CNIServer(path: path, handler: handler)]
            return server + (configuration.cniInstall.map { [CNIInstallService(install: $0, socket: path, desired: desired, logger: logger)] } ?? [])
        } ?? [])
        group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                  gracefulShutdownSignals: signals, logger: logger))
    }

    /// Runs until a graceful shutdown (a signal given to `make`, or `shutDown()`).
    public func run() async throws {
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        try await group.run()
        logger.info("stopped; the datapath stays in place")
    }

    public func shutDown() async { await group.triggerGracefulShutdown() }
}

/// The key-agreement key, Sendable (the Crypto key types are immutable but not marked so).
struct AgentKey: @unchecked Sendable {
    let key: P256.KeyAgreement.PrivateKey?
    init(_ key: P256.KeyAgreement.PrivateKey?) { self.key = key }
}
