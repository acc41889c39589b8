import Foundation
import Logging
import ServiceLifecycle
import WeftController

/// Both gRPC listeners, stopped gracefully on shutdown.
struct ServerService: Service {
    let server: ControlServer
    let plane: ControlPlane
    let logger: Logger

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
            Task { await plane.endStreams() }
        }
    }
}

/// Feeds the plane from a cluster source (the cluster file today): every event is
/// applied; a refused state is logged with all its problems and the previous one stays.
struct ClusterSourceService: Service {
    let source: any ClusterSource
    let plane: ControlPlane
    let logger: Logger

    func run() async throws {
        for await event in source.events().cancelOnGracefulShutdown() {
            do {
                let changed = try await plane.apply(event)
                let version = await plane.sourceVersion ?? "-"
                logger.info("cluster state applied", metadata: ["nodes_changed": "\(changed.count)", "version": "\(version)"])
            } catch {
                logger.error("cluster state refused; the previous state stays", metadata: ["problems": "\(error)"])
            }
        }
    }
}

/// Asks the plane every second whether a key rotation is due (the cluster file's
/// `encryption.rotationSeconds` since the last one, counted across restarts and following
/// live changes of the interval). A rotation still waiting for acknowledgements is not
/// restarted.
struct RotationTimer: Service {
    let plane: ControlPlane
    let logger: Logger

    func run() async throws {
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
