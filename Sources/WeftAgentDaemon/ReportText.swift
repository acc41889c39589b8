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
        // The first of them only: a kernel that refuses everything (a full table) must not
        // make an acknowledgement the controller refuses for its size.
        let first = (report.failures.prefix(Self.failuresSent).map { ($0.change, $0.error.errno?.rawValue ?? 0, "\($0.error)") }
            + report.refused.prefix(Self.failuresSent).map { ($0.change, Int32(0), $0.reason) }).prefix(Self.failuresSent)
        failedChanges = first.map { Weft_V1_ChangeFailure($0.0, errno: $0.1, message: $0.2) }
        failures = first.map { "\($0.0): \($0.2)" }
        failedChangeTotal = UInt32(clamping: report.failures.count + report.refused.count)
        installedSpis = report.succeeded ? Self.plannedSPIs(state) : []
        softExpiredSpis = softExpired
    }

    static let failuresSent = 64

    /// The SPIs the state asks for (all installed when the reconcile succeeded).
    static func plannedSPIs(_ state: DesiredNodeState) -> [UInt32] {
        guard state.cluster.encryption else { return [] }
        return state.peers.filter(\.encrypt).flatMap { peer in [peer.activeOutbound?.spi].compactMap { $0 } + peer.activeInbound.map(\.spi) }
    }
}

extension Weft_V1_ChangeFailure {
    init(_ change: Change, errno: Int32, message: String) {
        self.init()
        verb = change.verb.rawValue
        kind = change.kind.rawValue
        object = change.object
        self.errno = errno
        self.message = message
    }
}
