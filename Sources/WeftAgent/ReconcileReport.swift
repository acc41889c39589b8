import Netlink

/// What one reconcile found and did.
public struct ReconcileReport: Sendable {
    public var device: DeviceChange?
    public var changes: [ObjectChange] = []
    /// XFRM changes, in applying order: the first `xfrmAddCount` before the overlay objects
    /// (additions, so a new peer's first packet is already encrypted, and the removal of an
    /// SA that must be replaced), the rest after them (removals).
    public var xfrmChanges: [XfrmChange] = []
    public var xfrmAddCount = 0
    /// Netlink requests sent (0 when the kernel already matched).
    public var writes = 0
    public var failures: [FailedChange] = []
    /// Changes the agent would not make (an SA key installed before: see `SALedger`).
    public var refused: [RefusedChange] = []
    /// The trust filters' map entries and tc filters, listed by a plan with the pinned maps
    /// at hand (`TrustPlan`, `weftctl diff --pin-root`). An apply counts its map writes in
    /// `writes` and lists none: 150,000 ipcache entries would be 15 MB of text.
    public var trustChanges: [Change] = []

    public init(device: DeviceChange? = nil) { self.device = device }

    public var succeeded: Bool { failures.isEmpty && refused.isEmpty }

    /// Every change, in the order a reconcile makes them: the device, XFRM additions, the
    /// overlay objects, XFRM removals. One `Change` at a time (each carries text; the
    /// report itself keeps the compact typed changes).
    public func forEachChange(_ body: (Change) throws -> Void) rethrows {
        if let device { try body(device.change) }
        for change in xfrmChanges[..<xfrmAddCount] { try body(change.change) }
        for change in changes { try body(change.change) }
        for change in xfrmChanges[xfrmAddCount...] { try body(change.change) }
        for change in trustChanges { try body(change) }
    }

    /// `forEachChange` collected.
    public var allChanges: [Change] {
        var all: [Change] = []
        all.reserveCapacity(changeCount)
        forEachChange { all.append($0) }
        return all
    }

    public var changeCount: Int { (device == nil ? 0 : 1) + changes.count + xfrmChanges.count + trustChanges.count }

    /// Per-kind counts over every change, in `Change.Kind` order.
    public var counts: [ChangeCount] {
        var tally = ChangeTally()
        forEachChange { tally.add($0) }
        return tally.counts
    }
}
