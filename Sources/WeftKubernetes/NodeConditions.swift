import Foundation
import Logging

/// The Node condition `NetworkUnavailable`, which network plugins own: `False` (reason
/// `WeftReady`) once the node's agent has applied its desired state, `True` (reason
/// `WeftRevoked`) when the node is revoked. The scheduler and kubelet read it; `kubectl
/// describe node` shows it. Only transitions are written, in `run()`, apart from whoever
/// marks them (the control plane never waits on the API); a node marked again before its
/// write went out keeps only its newest state.
public struct NodeConditions: Sendable {
    public struct Mark: Sendable, Equatable {
        public var node: String
        public var unavailable: Bool
        public var reason: String
        public var message: String
        public init(node: String, unavailable: Bool, reason: String, message: String) {
            self.node = node
            self.unavailable = unavailable
            self.reason = reason
            self.message = message
        }
    }

    let client: KubernetesClient
    let logger: Logger
    let marks: AsyncStream<Mark>
    let continuation: AsyncStream<Mark>.Continuation

    public init(client: KubernetesClient, logger: Logger) {
        self.client = client
        self.logger = logger
        (marks, continuation) = AsyncStream.makeStream(of: Mark.self, bufferingPolicy: .bufferingNewest(4096))
    }

    public func mark(_ mark: Mark) { continuation.yield(mark) }
    public func finish() { continuation.finish() }

    public func run() async {
        var written: [String: Mark] = [:]
        for await mark in marks where written[mark.node] != mark {
            do {
                _ = try await client.call("/api/v1/nodes/\(mark.node)/status", method: .PATCH, body: Self.patch(mark),
                                          contentType: "application/strategic-merge-patch+json")
                written[mark.node] = mark
                logger.info("node condition written", metadata: ["node": "\(mark.node)", "NetworkUnavailable": "\(mark.unavailable)", "reason": "\(mark.reason)"])
            } catch {
                logger.warning("node condition not written", metadata: ["node": "\(mark.node)", "error": "\(error)"])
            }
        }
    }

    /// A strategic merge patch of the one condition (conditions merge by `type`, so the
    /// kubelet's own conditions stay as they are).
    static func patch(_ mark: Mark, now: Date = Date()) -> [UInt8] {
        let time = ISO8601DateFormatter().string(from: now)
        let condition: [String: Any] = [
            "type": "NetworkUnavailable", "status": mark.unavailable ? "True" : "False",
            "reason": mark.reason, "message": String(mark.message.prefix(1024)),
            "lastTransitionTime": time, "lastHeartbeatTime": time,
        ]
        let body: [String: Any] = ["status": ["conditions": [condition]]]
        return Array((try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data())
    }
}
