/// The difference between two desired states of one node, as the controller streams it
/// after the first full snapshot: only the sections that changed, peers and ipcache entry
/// by entry. `old.applying(DesiredStateDelta(from: old, to: new)) == new`.
public struct DesiredStateDelta: Codable, Hashable, Sendable {
    public var fromRevision: UInt64
    public var revision: UInt64
    public var cluster: ClusterSettings?
    public var node: NodeSettings?
    /// Peers added or changed (whole entries), and names of peers removed.
    public var upsertPeers: [Peer] = []
    public var removePeers: [String] = []
    public var upsertIPCache: [IPCacheEntry] = []
    public var removeIPCache: [String] = []
    /// Policy and quarantine are small and order-free: replaced whole when they change.
    public var policy: [PolicyRule]?
    /// The whole egress policy when it changed; [] when it went away.
    public var egressPolicy: [PolicyRule]?
    /// The whole CIDR identity table (1.4) when it changed; [] when it went away.
    public var cidrs: [IPCacheEntry]?
    /// The whole pod identity table (1.4) when it changed (empty: no pod on the node).
    public var podIdentities: [String: UInt32]?
    public var quarantined: [UInt32]?

    public var isEmpty: Bool {
        cluster == nil && node == nil && upsertPeers.isEmpty && removePeers.isEmpty && upsertIPCache.isEmpty
            && removeIPCache.isEmpty && policy == nil && egressPolicy == nil && cidrs == nil && podIdentities == nil && quarantined == nil
    }

    /// An empty delta from `fromRevision` to `revision` (sections are filled in by the caller).
    public init(revision: UInt64, fromRevision: UInt64) {
        self.fromRevision = fromRevision
        self.revision = revision
    }

    public init(from old: DesiredNodeState, to new: DesiredNodeState) {
        fromRevision = old.revision
        revision = new.revision
        if old.cluster != new.cluster { cluster = new.cluster }
        if old.node != new.node { node = new.node }
        let oldPeers = Dictionary(old.peers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.peers.map(\.name))
        upsertPeers = new.peers.filter { oldPeers[$0.name] != $0 }
        removePeers = old.peers.map(\.name).filter { !newNames.contains($0) }
        let oldCache = Dictionary(old.ipcache.map { ($0.cidr, $0.identity) }, uniquingKeysWith: { a, _ in a })
        let newCidrs = Set(new.ipcache.map(\.cidr))
        upsertIPCache = new.ipcache.filter { oldCache[$0.cidr] != $0.identity }
        removeIPCache = old.ipcache.map(\.cidr).filter { !newCidrs.contains($0) }
        if old.policy != new.policy { policy = new.policy }
        if (old.egressPolicy ?? []) != (new.egressPolicy ?? []) { egressPolicy = new.egressPolicy ?? [] }
        if (old.cidrs ?? []) != (new.cidrs ?? []) { cidrs = new.cidrs ?? [] }
        if old.podIdentities != new.podIdentities { podIdentities = new.podIdentities ?? [:] }
        if old.quarantined != new.quarantined { quarantined = new.quarantined }
    }

    public struct Mismatch: Error, CustomStringConvertible {
        public var description: String
    }
}

extension DesiredNodeState {
    /// This state with `delta` applied. Peers and ipcache keep the order the controller
    /// uses (peers by name, ipcache by address), so the result equals its full snapshot.
    public func applying(_ delta: DesiredStateDelta) throws -> DesiredNodeState {
        guard delta.fromRevision == revision else {
            throw DesiredStateDelta.Mismatch(description: "delta from revision \(delta.fromRevision) does not apply to revision \(revision)")
        }
        var state = self
        state.revision = delta.revision
        if let cluster = delta.cluster { state.cluster = cluster }
        if let node = delta.node { state.node = node }
        if !delta.upsertPeers.isEmpty || !delta.removePeers.isEmpty {
            var byName = Dictionary(peers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for name in delta.removePeers { byName[name] = nil }
            for peer in delta.upsertPeers { byName[peer.name] = peer }
            state.peers = byName.values.sorted { $0.name < $1.name }
        }
        if !delta.upsertIPCache.isEmpty || !delta.removeIPCache.isEmpty {
            var byCidr = Dictionary(ipcache.map { ($0.cidr, $0) }, uniquingKeysWith: { a, _ in a })
            for cidr in delta.removeIPCache { byCidr[cidr] = nil }
            for entry in delta.upsertIPCache { byCidr[entry.cidr] = entry }
            state.ipcache = byCidr.values.sorted { Self.addressOrder($0.cidr) < Self.addressOrder($1.cidr) }
        }
        if let policy = delta.policy { state.policy = policy }
        if let egress = delta.egressPolicy { state.egressPolicy = egress.isEmpty ? nil : egress }
        if let cidrs = delta.cidrs { state.cidrs = cidrs.isEmpty ? nil : cidrs }
        if let pods = delta.podIdentities { state.podIdentities = pods }
        if let quarantined = delta.quarantined { state.quarantined = quarantined }
        return state
    }

    /// Numeric order of an IPv4 "a.b.c.d/len" (the controller's ipcache order).
    static func addressOrder(_ cidr: String) -> UInt64 {
        let parts = cidr.split(separator: "/")
        let octets = parts.first?.split(separator: ".").compactMap { UInt64($0) } ?? []
        guard octets.count == 4 else { return UInt64.max }
        return octets.reduce(0) { $0 << 8 | $1 } << 8 | (parts.count > 1 ? UInt64(parts[1]) ?? 0 : 0)
    }
}
