import Foundation
import WeftModel
import WeftPKI
import WeftPlanner

/// What the operator sees of each node (`Admin.Status`, `weftctl status`).
extension ControlPlane {
    public struct NodeStatus: Sendable, Hashable {
        public var name: String
        public var desiredRevision: UInt64
        public var appliedRevision: UInt64
        public var connected: Bool
        public var certificateExpires: Date?
        public var inboundEpoch: UInt32
        public var outboundEpoch: UInt32
        public var revoked: Bool
        /// The controller knows its key-agreement key (it joined).
        public var joined: Bool
        /// Since when its latest desired revision has been waiting for its acknowledgement.
        public var pendingSince: Date?
        /// What failed in its last reconcile (nil once one succeeded).
        public var failures: ReportedFailures?
    }

    /// A change an agent reported as failed: the kernel's errno (0: the agent refused it).
    public struct ReportedFailure: Sendable, Hashable {
        public var verb: String, kind: String, object: String
        public var errno: Int32
        public var message: String

        public init(verb: String, kind: String, object: String, errno: Int32, message: String) {
            (self.verb, self.kind, self.object, self.errno, self.message) = (verb, kind, object, errno, message)
        }
    }

    /// The first of a reconcile's failures (at most `kept`), and how many there were.
    public struct ReportedFailures: Sendable, Hashable {
        public static let kept = 8
        public var first: [ReportedFailure]
        public var total: Int

        public init(first: [ReportedFailure], total: Int) {
            self.first = Array(first.prefix(Self.kept))
            self.total = max(total, first.count)
        }
    }

    /// Every listed node's status, or only `node`'s (what a node may see of the cluster).
    public func status(only node: String? = nil) -> (nodes: [NodeStatus], currentEpoch: UInt32, targetEpoch: UInt32) {
        let names = node.map { fileNodes.contains($0) ? [$0] : [] } ?? fileSpec.nodes.map(\.name).sorted()
        let nodes = names.map { name in
            NodeStatus(name: name, desiredRevision: planner.revisions[name] ?? 0, appliedRevision: applied[name] ?? 0,
                       connected: watchers[name] != nil, certificateExpires: persisted.certificates[name]?.expires,
                       inboundEpoch: planner.rotation.inboundReady[name] ?? 0, outboundEpoch: planner.rotation.outboundSwitched[name] ?? 0,
                       revoked: planner.structure.revoked.contains(name), joined: planner.credentials[name] != nil,
                       pendingSince: pendingSince[name], failures: lastFailures[name])
        }
        return (nodes, planner.rotation.currentEpoch, planner.rotation.targetEpoch)
    }
}
