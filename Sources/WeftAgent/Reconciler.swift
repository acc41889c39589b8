import Crypto
import Netlink
import WeftModel

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
    /// Keys installed before, never to be installed again. The default lives in memory
    /// only; the agent passes one persisted in its state directory.
    public let ledger: SALedger
    private let secrets = SharedSecretCache()

    public init(socket: NetlinkSocket, xfrm: NetlinkSocket? = nil, privateKey: P256.KeyAgreement.PrivateKey? = nil,
                trust: TrustFilters? = nil, ledger: SALedger? = nil) {
        self.socket = socket
        self.xfrm = xfrm
        self.privateKey = privateKey
        self.trust = trust
        self.ledger = ledger ?? (try! SALedger(path: nil))
    }

    /// XFRM additions and removals for `state` (empty when XFRM is not managed), with the
    /// additions that would install a known key taken out (together with the delete that
    /// would have made room for them, so the live SA stays).
    private func planXfrm(_ state: DesiredNodeState) throws -> (adds: [XfrmChange], deletes: [XfrmChange], refused: [RefusedChange]) {
        guard let xfrm else { return ([], [], []) }
        let desired = try DesiredEncryption(state, privateKey: privateKey, cache: secrets)
        let plan = diffXfrm(desired: desired, observed: try ObservedXfrm(dumping: xfrm))
        var blocked: Set<StateKey> = []
        var refused: [RefusedChange] = []
        for case .addState(let sa) in plan.adds {
            guard let key = sa.aead?.key, ledger.contains(key) else { continue }
            blocked.insert(StateKey(sa))
            refused.append(RefusedChange(change: XfrmChange.addState(sa).change,
                                         reason: "this key was installed before; adding it again would restart its sequence counter and repeat "
                                             + "GCM nonces (needs a new epoch or incarnation)"))
        }
        // Filtered only when something is blocked: an XFRM change is a ~400-byte value, and
        // 20,000 of them copied for nothing would be 8 MB more at the peak.
        guard !blocked.isEmpty else { return (plan.adds, plan.deletes, refused) }
        let adds = plan.adds.filter { change in
            switch change {
            case .addState(let sa), .deleteState(let sa): !blocked.contains(StateKey(sa))
            default: true
            }
        }
        return (adds, plan.deletes, refused)
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// The plan without applying it (`weftctl diff`, `weft-agent apply --dry-run`).
    public func plan(_ state: DesiredNodeState) throws -> ReconcileReport {
        let desired = try DesiredDatapath(state, underlayIndex: try uplinkIndex(state))
        let kernel = KernelState(socket: socket)
        let link = try ownedDevice(named: desired.device.name, kernel)
        var report = ReconcileReport(device: diff(desired: desired.device, observed: link))
        // A device that is created or recreated starts empty.
        let observed: OverlayObjects
        switch report.device {
        case .create?, .recreate?: observed = OverlayObjects()
        default: observed = try kernel.objects(on: link!.index)
        }
        report.changes = diff(desired: desired.objects, observed: observed)
        let xfrmPlan = try planXfrm(state)
        report.xfrmChanges = joined(xfrmPlan.adds, xfrmPlan.deletes)
        report.xfrmAddCount = xfrmPlan.adds.count
        report.refused = xfrmPlan.refused
        return report
    }

    /// Applies the plan. A failed request does not stop the others; it is reported (with
    /// the kernel's message) and the next reconcile tries again.
    public func apply(_ state: DesiredNodeState) throws -> ReconcileReport {
        let desired = try DesiredDatapath(state, underlayIndex: try uplinkIndex(state))
        let kernel = KernelState(socket: socket)
        var report = ReconcileReport()
        var link = try ownedDevice(named: desired.device.name, kernel)
        if let change = diff(desired: desired.device, observed: link) {
            report.device = change
            report.writes += try applyDevice(change, existing: link)
            link = try kernel.device(named: desired.device.name)
        }
        guard let device = link else { throw Error(description: "device \(desired.device.name) is missing after creating it") }
        let xfrmPlan = try planXfrm(state)
        report.xfrmChanges = joined(xfrmPlan.adds, xfrmPlan.deletes)
        report.xfrmAddCount = xfrmPlan.adds.count
        report.refused = xfrmPlan.refused
        // Recorded (durably) before the kernel sees them: see SALedger.
        try ledger.record(xfrmPlan.adds.compactMap { if case .addState(let sa) = $0 { sa.aead?.key } else { nil } })
        try ledger.forget(applyXfrm(xfrmPlan.adds, into: &report))
        report.changes = diff(desired: desired.objects, observed: try kernel.objects(on: device.index))
        applyObjects(report.changes, device: device.index, into: &report)
        applyXfrm(xfrmPlan.deletes, into: &report)
        if let trust {
            // Maps first, then attach: a newly attached filter never sees empty maps.
            report.writes += try trust.sync(state)
            let uplink = desired.device.underlayIndex ?? 0
            report.writes += try trust.attach(uplinkIndex: uplink, overlayIndex: device.index, namespace: socket.namespace)
        }
        return report
    }

    /// Sends the overlay changes a slice at a time, in order.
    private func applyObjects(_ changes: [ObjectChange], device: Int32, into report: inout ReconcileReport) {
        let failures = Self.applySliced(socket, changes.count) { changes[$0].request(device: device) }
        report.failures += failures.map { FailedChange(change: changes[$0.index].change, error: $0.error) }
        report.writes += changes.count
    }

    /// Changes per `NetlinkSocket.apply`: a few of its 64 KiB sends each.
    public static let requestSlice = 2048

    /// Sends `count` requests, made by `request(i)` a slice of `requestSlice` at a time, in
    /// order: they never exist all at once (the first programming of 20,000 peers is 80,000
    /// requests, ~24 MB). Failures carry their index in the whole list.
    private static func applySliced(_ socket: NetlinkSocket, _ count: Int, _ request: (Int) -> Request) -> [(index: Int, error: NetlinkError)] {
        var failures: [(index: Int, error: NetlinkError)] = []
        for start in stride(from: 0, to: count, by: requestSlice) {
            let result = socket.apply((start..<min(start + requestSlice, count)).map(request))
            failures += result.failures.map { (start + $0.index, $0.error) }
        }
        return failures
    }

    /// Sends the changes; returns the keys of SAs the kernel refused to add. Those never
    /// existed, so the ledger may forget them and the retry may install them (EEXIST is
    /// the exception: an SA with that SPI is there, maybe with this very key).
    @discardableResult
    private func applyXfrm(_ changes: [XfrmChange], into report: inout ReconcileReport) -> [SecretBytes] {
        guard let xfrm, !changes.isEmpty else { return [] }
        let failures = Self.applySliced(xfrm, changes.count) { changes[$0].request }
        report.writes += changes.count
        report.failures += failures.map { FailedChange(change: changes[$0.index].change, error: $0.error) }
        return failures.compactMap { failure in
            guard failure.error.errno != .exists, case .addState(let sa) = changes[failure.index] else { return nil }
            return sa.aead?.key
        }
    }

    /// The device named `node.device`, if it exists and may be Weft's. Weft's device is a
    /// VXLAN device: one of any other kind (the uplink, a bridge, an operator's dummy) is
    /// never Weft's to delete or change, so the reconcile stops there, naming it.
    private func ownedDevice(named name: String, _ kernel: KernelState) throws -> Link? {
        guard let link = try kernel.device(named: name) else { return nil }
        guard case .vxlan? = link.kind else {
            throw Error(description: "node.device \(name) is an existing \(link.kind?.name ?? "plain") device, not Weft's VXLAN device; "
                        + "refusing to delete or change it (remove or rename it, or choose another node.device)")
        }
        return link
    }

    /// The uplink's index; refuses a `node.mtu` the uplink cannot carry (`OverlayMTU`).
    private func uplinkIndex(_ state: DesiredNodeState) throws -> Int32 {
        let uplink: Link
        do {
            uplink = try socket.link(named: state.node.uplink)
        } catch {
            if error.errno == .noSuchDevice { throw Error(description: "uplink \(state.node.uplink) does not exist (node.uplink)") }
            throw error
        }
        if let mtu = uplink.mtu, let problem = OverlayMTU.problem(state, uplinkMTU: mtu) { throw Error(description: problem) }
        return uplink.index
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
