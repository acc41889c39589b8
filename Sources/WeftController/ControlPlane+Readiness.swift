/// A node's network turned ready (its agent applied the whole of its current desired
/// state) or unavailable (it was revoked). With the Kubernetes source this becomes the
/// Node's `NetworkUnavailable` condition (`NodeConditions`).
public struct NetworkReadiness: Sendable, Equatable {
    public var node: String
    public var ready: Bool
    public var reason: String
    public var message: String
}

extension ControlPlane {
    /// Who hears of readiness changes (one observer; nil: nobody). Every node already
    /// ready is reported to a new observer at once.
    public func observeNetworkReadiness(_ observer: (@Sendable (NetworkReadiness) -> Void)?) {
        readinessObserver = observer
        for node in networkReady.sorted() { observer?(Self.ready(node, revision: applied[node] ?? 0)) }
    }

    /// From an acknowledgement: the node applied `revision`, its current one.
    func noteApplied(_ node: String, revision: UInt64) {
        guard !networkReady.contains(node), !isRevoked(node) else { return }
        networkReady.insert(node)
        readinessObserver?(Self.ready(node, revision: revision))
    }

    /// From a revocation.
    func noteUnavailable(_ node: String, reason: String, message: String) {
        networkReady.remove(node)
        readinessObserver?(NetworkReadiness(node: node, ready: false, reason: reason, message: message))
    }

    static func ready(_ node: String, revision: UInt64) -> NetworkReadiness {
        NetworkReadiness(node: node, ready: true, reason: "WeftReady", message: "weft-agent applied its desired state (revision \(revision))")
    }
}
