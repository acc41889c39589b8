import Foundation
import GRPCCore
import Logging
import WeftControlAPI
import WeftFiles
import WeftModel

/// The desired state from the controller's watch stream (snapshot, then deltas). Each
/// state received is written to `STATE_DIR/desired.json` (0600) before it is delivered,
/// and that file is delivered first at start: the last applied state stays in force while
/// the controller is away, across agent restarts too. Reconnects with backoff (1 s
/// doubling to 30 s, back to 1 s after a stream that delivered its snapshot).
public struct ControllerWatch: DesiredStateSource {
    public let link: ControllerLink
    public let desiredPath: String

    public init(link: ControllerLink, desiredPath: String) {
        self.link = link
        self.desiredPath = desiredPath
    }

    public func run(deliver: @escaping @Sendable (DesiredStateEvent) async -> Void) async throws {
        if let saved = DesiredStateFile(path: desiredPath, missingIsSilent: true).read() { await deliver(saved) }
        var backoff = 1.0
        while !Task.isCancelled {
            do {
                let received = try await link.withControl { control in
                    try await control.watch(Weft_V1_WatchRequest()) { response in
                        try await follow(response.messages, deliver: deliver)
                    }
                }
                if Task.isCancelled { return }  // a shutdown, not the controller
                link.logger.warning("controller ended the stream; reconnecting")
                if received { backoff = 1 }
            } catch where Task.isCancelled {
                return
            } catch {
                link.logger.warning("controller unreachable; the last applied state stays in force",
                                    metadata: ["error": "\(error)", "retry_s": "\(backoff)"])
            }
            link.metrics.controllerReconnects.increment()
            try? await Task.sleep(for: .seconds(backoff))
            backoff = min(backoff * 2, 30)
        }
    }

    /// Follows one stream, saving and delivering each state. Returns whether any came.
    private func follow(_ messages: RPCAsyncSequence<Weft_V1_WatchUpdate, any Error>,
                        deliver: @Sendable (DesiredStateEvent) async -> Void) async throws -> Bool {
        var state: DesiredNodeState?
        var received = false
        let metrics = link.metrics
        metrics.controllerConnected.set(Int64(1))
        defer { metrics.controllerConnected.set(Int64(0)) }
        do {
            for try await update in messages {
                switch update.update {
                case .snapshot(let data)?:
                    state = try DesiredNodeState.decode(data)
                    metrics.controllerSnapshots.increment()
                case .delta(let data)?:
                    guard let current = state else { throw RPCError(code: .dataLoss, message: "a delta before any snapshot") }
                    state = try current.applying(try JSONDecoder().decode(DesiredStateDelta.self, from: data))
                    metrics.controllerDeltas.increment()
                case nil: continue
                }
                received = true
                guard let state else { continue }
                try SecureFile.write(Array(try state.encoded()), to: desiredPath, mode: 0o600)
                await deliver(.state(state))
            }
        } catch where received {
            // The stream broke after it had worked: reconnect soon (a shutdown says nothing).
            if !Task.isCancelled { link.logger.warning("watch stream ended", metadata: ["error": "\(error)"]) }
        }
        return received
    }
}
