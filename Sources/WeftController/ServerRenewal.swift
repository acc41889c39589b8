import Foundation

extension ControlServer {
    /// Serves `first`, and at two thirds of its server certificate's remaining life replaces
    /// it with `make()` (a new certificate from the CA): the old listeners stop gracefully
    /// (their Watch streams are ended; agents reconnect with backoff and get a snapshot,
    /// the datapath is untouched), the new ones bind the same addresses. `current` hears
    /// of each server before it serves and answers whether it may (false: the controller
    /// is stopping; the caller records the server under the same lock its shutdown takes,
    /// so a shutdown always reaches the server in service). Returns when a server stops
    /// and `stopping()` says the controller is stopping, or when cancelled.
    public static func serveRenewing(first: ControlServer, make: @escaping @Sendable () throws -> ControlServer,
                                     current: @escaping @Sendable (ControlServer) -> Bool,
                                     stopping: @escaping @Sendable () -> Bool) async throws {
        var server = first
        while !Task.isCancelled {
            guard current(server) else { return }
            let renewal = max(1, server.certificateExpires.timeIntervalSinceNow * 2 / 3)
            let serving = server
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask { try await serving.serve(); return true }
                group.addTask {
                    try? await Task.sleep(for: .seconds(renewal))
                    guard !Task.isCancelled else { return false }
                    serving.beginGracefulShutdown()
                    await serving.plane.endStreams()
                    return false
                }
                while let served = try await group.next(), !served {}
                group.cancelAll()
            }
            guard !Task.isCancelled, !stopping() else { return }
            server = try make()
        }
    }
}
