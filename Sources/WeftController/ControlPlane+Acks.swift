import Foundation
import WeftModel
import WeftPKI
import WeftPlanner

/// Agents' acknowledgements (revisions applied, epochs installed, soft expiries) and key
/// rotation.
extension ControlPlane {
    /// The node applied `revision`. When that is its current state, what it proves about
    /// the rotation is recorded (and may let other nodes move on).
    public func acknowledge(node: String, revision: UInt64, succeeded: Bool, softExpiredSPIs: [UInt32] = [],
                            failures: ReportedFailures? = nil, now: Date = Date()) throws {
        // Every SA of a node is one of at most four per peer: more SPIs than that is not
        // an agent's report.
        if !softExpiredSPIs.isEmpty {
            let most = RequestLimits.spisPerPeer * max(1, planner.activeNodes.count)
            guard softExpiredSPIs.count <= most else {
                throw Failure(kind: .invalidArgument, description: "soft_expired_spis: \(softExpiredSPIs.count) SPIs, more than the \(most) SAs a node can hold")
            }
        }
        let desired = planner.revisions[node] ?? 0
        lastFailures[node] = succeeded ? nil : failures ?? ReportedFailures(first: [], total: 0)
        // Above the desired revision is not this plan's (a stale or confused agent): ignored.
        if succeeded, revision <= desired { applied[node] = max(applied[node] ?? 0, revision) }
        metrics.setRevisionLag(node, desired - min(applied[node] ?? 0, desired))
        if succeeded, revision >= desired, let since = pendingSince.removeValue(forKey: node) {
            metrics.convergence.record(Date().timeIntervalSince(since))
        }
        if succeeded, revision == desired, desired > 0 { noteApplied(node, revision: revision) }
        if !softExpiredSPIs.isEmpty { try softExpired(softExpiredSPIs, of: node, now: now) }
        guard succeeded, let state = planner.desiredState(for: node), state.revision == revision else { return }
        let facts = planner.rotation.facts(of: state)
        let epoch = planner.rotation.currentEpoch
        let base = planner.baseline
        let changed = planner.acknowledge(node: node, inboundEpoch: facts.inboundEpoch, outboundEpoch: facts.outboundEpoch)
        if planner.rotation.currentEpoch != epoch {
            try audit.record("epoch", detail: ["epoch": "\(planner.rotation.currentEpoch)", "state": "complete"])
            metrics.currentEpoch.set(Double(planner.rotation.currentEpoch))
        }
        if !changed.isEmpty { try save() }
        publish(changed, since: base)
    }

    /// A soft-expiry report: only SPIs of the node's own SAs count (anything else is
    /// ignored), recorded once each, and they start a rotation at most once a minute: a
    /// node cannot make the cluster rotate without end.
    fileprivate func softExpired(_ reported: [UInt32], of node: String, now: Date) throws {
        guard let state = planner.desiredState(for: node) else { return }
        let own = Set(state.peers.flatMap { [$0.outbound, $0.inbound, $0.outboundNext, $0.inboundNext].compactMap { $0?.spi } })
        let spis = Set(reported).intersection(own).sorted()
        guard !spis.isEmpty else { return }
        try audit.record("soft-expiry", subject: node, detail: ["count": "\(spis.count)",
                                                                "spis": spis.prefix(16).map { String($0, radix: 16) }.joined(separator: ",")])
        // An SA reached its soft limit: rotate now rather than at the next interval
        // (a busy link exhausts an SA long before a daily rotation).
        guard fileSpec.encryption.enabled else { return }
        if let last = persisted.lastSoftExpiryRotation, now.timeIntervalSince(last) < Self.softExpiryRotationInterval { return }
        if try rotate() {
            persisted.lastSoftExpiryRotation = now
            try save()
        }
    }

    static let softExpiryRotationInterval: TimeInterval = 60

    /// Starts a key rotation (the controller's timer, or an operator).
    @discardableResult
    public func rotate() throws -> Bool {
        let base = planner.baseline
        let wasRotating = planner.rotation.rotating
        let changed = planner.startRotation()
        guard !wasRotating, planner.rotation.rotating else { return false }
        persisted.lastRotation = Date()
        try audit.record("epoch", detail: ["epoch": "\(planner.rotation.targetEpoch)", "state": "started",
                                           "spi-rule": "(epoch mod 256) << 24 | sender index << 8 | 0x57"])
        try save()
        metrics.rotationsStarted.increment()
        publish(changed, since: base)
        return true
    }

    /// The rotation timer's question: is a rotation due (`encryption.rotationSeconds` of
    /// the current cluster file since the last one started, counted across restarts)?
    /// Starts it when it is. Returns whether one started.
    @discardableResult
    public func rotateIfDue(now: Date = Date()) throws -> Bool {
        let interval = TimeInterval(fileSpec.encryption.rotationSeconds)
        guard fileSpec.encryption.enabled, interval > 0, !planner.rotation.rotating else { return false }
        guard let last = persisted.lastRotation else {
            persisted.lastRotation = now
            try save()
            return false
        }
        guard now.timeIntervalSince(last) >= interval else { return false }
        return try rotate()
    }
}
