import WeftAgent
import WeftControlAPI
import WeftModel

extension ReconcileReport {
    /// "changed 4 objects (neighbour +0 ~0 -1, …), 4 kernel writes, 0 failed"
    public func summary(dryRun: Bool) -> String {
        let counts = self.counts.filter { $0.total > 0 }.map(\.description)
        return "\(dryRun ? "would change" : "changed") \(changeCount) objects" + (counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))")
            + (dryRun ? "" : ", \(writes) kernel writes, \(failures.count) failed")
            + (refused.isEmpty ? "" : ", \(refused.count) refused")
    }
}

extension Weft_V1_AckRequest {
    /// What the controller hears about one reconcile.
    init(state: DesiredNodeState, report: ReconcileReport, softExpired: [UInt32]) {
        self.init()
        revision = state.revision
        succeeded = report.succeeded
        failures = report.failures.map(\.description) + report.refused.map(\.description)
        installedSpis = report.succeeded ? Self.plannedSPIs(state) : []
        softExpiredSpis = softExpired
    }

    /// The SPIs the state asks for (all installed when the reconcile succeeded).
    static func plannedSPIs(_ state: DesiredNodeState) -> [UInt32] {
        guard state.cluster.encryption else { return [] }
        return state.peers.filter(\.encrypt).flatMap { peer in [peer.activeOutbound?.spi].compactMap { $0 } + peer.activeInbound.map(\.spi) }
    }
}
