import Crypto
import Netlink
import WeftModel

/// What one reconcile found and did.
public struct ReconcileReport: Sendable {
    public var device: DeviceChange?
    public var changes: [ObjectChange] = []
    /// XFRM changes, in applying order: additions (before the overlay objects, so a new
    /// peer's first packet is already encrypted), then removals (after them).
    public var xfrmChanges: [XfrmChange] = []
    /// Netlink requests sent (0 when the kernel already matched).
    public var writes = 0
    public var failures: [(change: String, error: NetlinkError)] = []

    public var succeeded: Bool { failures.isEmpty }

    /// "neighbour +2 ~0 -1, route +4 ~1 -0" style counts per kind, for logs and CLIs.
    public var countsByKind: [(kind: String, added: Int, replaced: Int, deleted: Int)] {
        let kinds = ["address", "neighbour", "fdb", "nexthop", "route"]
        return kinds.map { kind in
            let of = changes.filter { $0.kind == kind }
            return (kind, Self.count(of, "add"), Self.count(of, "replace"), Self.count(of, "delete"))
        }
    }

    private static func count(_ changes: [ObjectChange], _ verb: String) -> Int {
        changes.filter { $0.description.hasPrefix(verb) }.count
    }
}

/// Makes the kernel match a desired node state: observe → pure diff → ordered, batched
/// requests. Whole-state every time: the same desired state applied twice makes no write
/// the second time; objects that are not Weft's are never read into the diff, so they are
/// never touched.
public struct Reconciler: Sendable {
    public let socket: NetlinkSocket
    /// NETLINK_XFRM socket; nil leaves XFRM alone (an agent without encryption duties).
    public let xfrm: NetlinkSocket?
    /// This node's key-agreement key, needed when any peer must encrypt.
    nonisolated(unsafe) public let privateKey: P256.KeyAgreement.PrivateKey?
    /// The eBPF trust filters to attach and fill; nil leaves tc and BPF alone.
    public let trust: TrustFilters?

    public init(socket: NetlinkSocket, xfrm: NetlinkSocket? = nil, privateKey: P256.KeyAgreement.PrivateKey? = nil,
                trust: TrustFilters? = nil) {
        self.socket = socket
        self.xfrm = xfrm
        self.privateKey = privateKey
        self.trust = trust
    }

    /// XFRM additions and removals for `state` (empty when XFRM is not managed).
    private func planXfrm(_ state: DesiredNodeState) throws -> (adds: [XfrmChange], deletes: [XfrmChange]) {
        guard let xfrm else { return ([], []) }
        let desired = try DesiredEncryption(state, privateKey: privateKey)
        return diffXfrm(desired: desired, observedStates: try xfrm.dump(XfrmState.self), observedPolicies: try xfrm.dump(XfrmPolicy.self))
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// The plan without applying it (`weftctl diff`, `weft-agent apply --dry-run`).
    public func plan(_ state: DesiredNodeState) throws -> ReconcileReport {
        let desired = try DesiredDatapath(state, underlayIndex: try uplinkIndex(state))
        let kernel = KernelState(socket: socket)
        let link = try kernel.device(named: desired.device.name)
        var report = ReconcileReport(device: diff(desired: desired.device, observed: link))
        // A device that is created or recreated starts empty.
        let observed: OverlayObjects
        switch report.device {
        case .create?, .recreate?: observed = OverlayObjects()
        default: observed = try kernel.objects(on: link!.index)
        }
        report.changes = diff(desired: desired.objects, observed: observed)
        let xfrmPlan = try planXfrm(state)
        report.xfrmChanges = xfrmPlan.adds + xfrmPlan.deletes
        return report
    }

    /// Applies the plan. A failed request does not stop the others; it is reported (with
    /// the kernel's message) and the next reconcile tries again.
    public func apply(_ state: DesiredNodeState) throws -> ReconcileReport {
        let desired = try DesiredDatapath(state, underlayIndex: try uplinkIndex(state))
        let kernel = KernelState(socket: socket)
        var report = ReconcileReport()
        var link = try kernel.device(named: desired.device.name)
        if let change = diff(desired: desired.device, observed: link) {
            report.device = change
            report.writes += try applyDevice(change, existing: link)
            link = try kernel.device(named: desired.device.name)
        }
        guard let device = link else { throw Error(description: "device \(desired.device.name) is missing after creating it") }
        let xfrmPlan = try planXfrm(state)
        report.xfrmChanges = xfrmPlan.adds + xfrmPlan.deletes
        applyXfrm(xfrmPlan.adds, into: &report)
        report.changes = diff(desired: desired.objects, observed: try kernel.objects(on: device.index))
        let result = socket.apply(report.changes.map { $0.request(device: device.index) })
        report.writes += report.changes.count
        report.failures += result.failures.map { (report.changes[$0.index].description, $0.error) }
        applyXfrm(xfrmPlan.deletes, into: &report)
        if let trust {
            // Maps first, then attach: a newly attached filter never sees empty maps.
            report.writes += try trust.sync(TrustMapContents(state))
            let uplink = Int32(bitPattern: desired.device.underlayIndex ?? 0)
            report.writes += try trust.attach(uplinkIndex: uplink, overlayIndex: device.index, namespace: socket.namespace)
        }
        return report
    }

    private func applyXfrm(_ changes: [XfrmChange], into report: inout ReconcileReport) {
        guard let xfrm, !changes.isEmpty else { return }
        let result = xfrm.apply(changes.map(\.request))
        report.writes += changes.count
        report.failures += result.failures.map { (changes[$0.index].description, $0.error) }
    }

    private func uplinkIndex(_ state: DesiredNodeState) throws -> UInt32 {
        do {
            return UInt32(bitPattern: try socket.link(named: state.node.uplink).index)
        } catch {
            if error.errno == .noSuchDevice { throw Error(description: "uplink \(state.node.uplink) does not exist (node.uplink)") }
            throw error
        }
    }

    private func applyDevice(_ change: DeviceChange, existing: Link?) throws -> Int {
        switch change {
        case .create(let device):
            try socket.add(device.link)
            return 1
        case .recreate(let device, _):
            if let existing { try socket.delete(existing) }
            try socket.add(device.link)
            return 2
        case .update(let device, _):
            // Send only what differs: setting the MAC, even to the same value, makes the
            // kernel flush the device's neighbours, permanent ones included.
            var link = Link(name: "")
            link.index = existing?.index ?? 0
            link.flags = .up
            if existing?.mtu != device.mtu { link.mtu = device.mtu }
            if existing?.address != device.mac { link.address = device.mac }
            try socket.set(link, change: .up)
            return 1
        }
    }
}
