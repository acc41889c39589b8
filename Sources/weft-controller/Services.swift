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

/// Polls the cluster file twice a second; a change is parsed and planned, a bad file
/// logged with all its problems (the previous state stays).
struct ClusterFileWatcher: Service {
    let path: String
    let plane: ControlPlane
    let logger: Logger

    func run() async throws {
        var last = stamp()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            let now = stamp()
            guard now != last else { continue }
            last = now
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                let changed = try await plane.update(spec: try ClusterFile.parse(text, name: path))
                logger.info("cluster file applied", metadata: ["nodes_changed": "\(changed.count)"])
            } catch {
                logger.error("cluster file refused; the previous state stays", metadata: ["problems": "\(error)"])
            }
        }
    }

    /// Follows symlinks (stat, not lstat): a Kubernetes ConfigMap volume swaps the
    /// `..data` link and leaves `cluster.yaml` itself an unchanged symlink.
    private func stamp() -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_dev):\(info.st_ino) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_size)"
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
