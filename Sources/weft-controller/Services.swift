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

    private func stamp() -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return "\(attributes?[.modificationDate] ?? "-") \(attributes?[.size] ?? "-")"
    }
}

/// Starts a key rotation every `interval` seconds (0: never). A rotation still waiting for
/// acknowledgements is not restarted.
struct RotationTimer: Service {
    let plane: ControlPlane
    let interval: TimeInterval
    let logger: Logger

    func run() async throws {
        guard interval > 0 else { return try await gracefulShutdown() }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(interval))
            guard !Task.isShuttingDownGracefully else { return }
            do { try await plane.rotate() } catch { logger.error("rotation failed", metadata: ["error": "\(error)"]) }
        }
    }
}
