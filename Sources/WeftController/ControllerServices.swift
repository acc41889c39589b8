import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import WeftKubernetes
import WeftPlanner

/// The gRPC listeners, under a server certificate renewed before it expires
/// (`ControlServer.serveRenewing`), stopped gracefully on shutdown.
public struct ServerService: Service {
    let server: ControlServer
    let make: @Sendable () throws -> ControlServer
    let plane: ControlPlane
    let logger: Logger
    private let state = NIOLockedValueBox<(current: ControlServer?, stopping: Bool)>((nil, false))

    public init(server: ControlServer, make: @escaping @Sendable () throws -> ControlServer, plane: ControlPlane, logger: Logger) {
        self.server = server
        self.make = make
        self.plane = plane
        self.logger = logger
    }

    public func run() async throws {
        let state = state, logger = logger
        try await withGracefulShutdownHandler {
            try await ControlServer.serveRenewing(first: server, make: make, current: { server in
                let (serve, renewed) = state.withLockedValue { value -> (Bool, Bool) in
                    guard !value.stopping else { return (false, false) }
                    defer { value.current = server }
                    return (true, value.current != nil)
                }
                if renewed { logger.info("server certificate renewed; listeners restarted", metadata: ["expires": "\(server.certificateExpires)"]) }
                return serve
            }, stopping: { state.withLockedValue { $0.stopping } })
        } onGracefulShutdown: {
            let current = state.withLockedValue { value -> ControlServer? in value.stopping = true; return value.current }
            (current ?? server).beginGracefulShutdown()
            Task { await plane.endStreams() }
        }
    }
}

/// Feeds the plane from a cluster source (the cluster file today): every event is
/// applied; a refused state is logged with all its problems and the previous one stays.
public struct ClusterSourceService: Service {
    let source: any ClusterSource
    let plane: ControlPlane
    let logger: Logger

    public init(source: any ClusterSource, plane: ControlPlane, logger: Logger) {
        self.source = source
        self.plane = plane
        self.logger = logger
    }

    public func run() async throws {
        var reported: Set<UnenforcedPolicyPart> = []
        for await event in source.events().cancelOnGracefulShutdown() {
            do {
                let changed = try await plane.apply(event)
                let version = await plane.sourceVersion ?? "-"
                logger.info("cluster state applied", metadata: ["nodes_changed": "\(changed.count)", "version": "\(version)"])
                reported = reportUnenforced(await plane.unenforcedPolicy, after: reported)
            } catch {
                logger.error("cluster state refused; the previous state stays", metadata: ["problems": "\(error)"])
            }
        }
    }
}

extension ClusterSourceService {
    /// Logs each policy part the datapath does not enforce, once, when it first appears.
    func reportUnenforced(_ parts: [UnenforcedPolicyPart], after reported: Set<UnenforcedPolicyPart>) -> Set<UnenforcedPolicyPart> {
        for part in parts where !reported.contains(part) {
            logger.warning("policy part not enforced by the datapath", metadata: ["policy": "\(part.policy)", "at": "\(part.at)", "what": "\(part.what)"])
        }
        return Set(parts)
    }
}

/// Asks the plane every second whether a key rotation is due (the cluster file's
/// `encryption.rotationSeconds` since the last one, counted across restarts and following
/// live changes of the interval). A rotation still waiting for acknowledgements is not
/// restarted.
public struct RotationTimer: Service {
    let plane: ControlPlane
    let logger: Logger

    public init(plane: ControlPlane, logger: Logger) {
        self.plane = plane
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            guard !Task.isShuttingDownGracefully else { return }
            do {
                if try await plane.rotateIfDue() { logger.info("key rotation started", metadata: ["reason": "interval"]) }
            } catch {
                logger.error("rotation failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// With the Kubernetes source: each node's network readiness as its Node's
/// `NetworkUnavailable` condition, written until the group shuts down.
public struct NodeConditionService: Service {
    let conditions: NodeConditions
    let plane: ControlPlane

    public init(conditions: NodeConditions, plane: ControlPlane) {
        self.conditions = conditions
        self.plane = plane
    }

    public func run() async throws {
        let conditions = conditions
        await plane.observeNetworkReadiness { readiness in
            conditions.mark(.init(node: readiness.node, unavailable: !readiness.ready, reason: readiness.reason, message: readiness.message))
        }
        await withGracefulShutdownHandler {
            await conditions.run()
        } onGracefulShutdown: {
            conditions.finish()
        }
        await plane.observeNetworkReadiness(nil)
    }
}
