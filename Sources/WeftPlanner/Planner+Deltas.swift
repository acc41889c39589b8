import WeftModel

/// Deltas without documents. A change that touches every node (a node joins, leaves or is
/// revoked) changes one row of the peer table every node shares; diffing each node's whole
/// document (N peers) would make that change O(N²). Instead the shared table's change is
/// computed once (`PeerTableChange`, O(N)), and each node's delta takes from it only the
/// rows that changed, plus its own sections.
///
/// What a delta is computed against: the plan as it was before the change (`baseline`,
/// cheap: copy-on-write values) and what was last sent to the node for the two sections the
/// baseline cannot rebuild cheaply (`SentSections`: its ipcache, compact, and its rules).
extension Planner {
    /// The parts of the plan a delta is computed against, captured before a change.
    public struct Baseline: Sendable {
        let topology: Topology
        let rotation: RotationState
        let credentials: [String: NodeCredentials]
        let digests: [String: NodeDigest]
        public let revisions: [String: UInt64]
    }

    public var baseline: Baseline {
        Baseline(topology: topology, rotation: rotation, credentials: credentials, digests: digests, revisions: revisions)
    }

    /// What the controller last sent a node, for the sections a delta is computed against.
    public struct SentSections: Sendable {
        public internal(set) var revision: UInt64
        /// (address << 32 | identity), sorted: 8 bytes per entry.
        var ipcache: [UInt64]
        var policy: [PolicyRule]
        var egressPolicy: [PolicyRule]
        var cidrs: [IPCacheEntry]
        var podIdentities: [String: UInt32]?

        public init(_ state: DesiredNodeState) {
            revision = state.revision
            ipcache = state.ipcache.compactMap { entry in
                (IPv4(String(entry.cidr.prefix { $0 != "/" }))?.value).map { UInt64($0) << 32 | UInt64(entry.identity) }
            }.sorted()
            policy = state.policy
            egressPolicy = state.egressPolicy ?? []
            cidrs = state.cidrs ?? []
            podIdentities = state.podIdentities
        }
    }

    /// The shared peer table's change, computed once per change for every node's delta.
    public struct PeerTableChange: Sendable {
        /// Nodes whose peer row appeared, left or changed (address, key, incarnation, ...).
        var rows: Set<String> = []
        /// Nodes whose rotation progress changed: every pair with them may plan differently.
        var rotating: Set<String> = []
        /// The epochs changed: every pair plans differently.
        var everything = false
    }

    public func peerTableChange(since base: Baseline) -> PeerTableChange {
        var change = PeerTableChange()
        let old = Dictionary(base.topology.active.map { ($0.name, $0.peer) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(topology.active.map { ($0.name, $0.peer) }, uniquingKeysWith: { a, _ in a })
        for (name, peer) in new where old[name] != peer { change.rows.insert(name) }
        for name in old.keys where new[name] == nil { change.rows.insert(name) }
        let before = base.rotation, after = rotation
        if before.currentEpoch != after.currentEpoch || before.targetEpoch != after.targetEpoch {
            change.everything = true
        } else {
            for name in Set(before.inboundReady.keys).union(after.inboundReady.keys) where before.inboundReady[name] != after.inboundReady[name] {
                change.rotating.insert(name)
            }
            for name in Set(before.outboundSwitched.keys).union(after.outboundSwitched.keys)
            where before.outboundSwitched[name] != after.outboundSwitched[name] {
                change.rotating.insert(name)
            }
        }
        return change
    }

    /// `node`'s delta from the state it was sent (`sent`, at `base`'s revision) to its
    /// current state, updating `sent`. Nil when the node is not active, or when `sent` is
    /// not at the baseline's revision (then only a snapshot is right).
    public func delta(for node: String, since base: Baseline, table: PeerTableChange, sent: inout SentSections) -> DesiredStateDelta? {
        guard let me = topology.nodes[node], topology.isActive(node), sent.revision == base.revisions[node] ?? 0 else { return nil }
        var delta = DesiredStateDelta(revision: revisions[node] ?? 1, fromRevision: sent.revision)
        if base.topology.clusterSettings != topology.clusterSettings { delta.cluster = topology.clusterSettings }
        var oldSettings = base.topology.nodes[node]?.settings
        oldSettings?.incarnation = base.credentials[node]?.incarnation
        var settings = me.settings
        settings.incarnation = credentials[node]?.incarnation
        if oldSettings != settings { delta.node = settings }
        if base.topology.quarantined != topology.quarantined { delta.quarantined = topology.quarantined }
        peerChanges(of: me, since: base, table: table, wholeTable: oldSettings?.index != settings.index, into: &delta)
        if base.digests[node] != digests[node] { ownSectionChanges(of: node, sent: &sent, into: &delta) }
        sent.revision = delta.revision
        return delta
    }

    private func peerChanges(of me: Topology.Node, since base: Baseline, table: PeerTableChange, wholeTable: Bool,
                             into delta: inout DesiredStateDelta) {
        let oldMe = base.topology.nodes[me.name]
        let whole = wholeTable || table.everything || table.rotating.contains(me.name) || oldMe == nil || !base.topology.isActive(me.name)
        let names = whole ? Set(base.topology.active.map(\.name)).union(topology.active.map(\.name)) : table.rows.union(table.rotating)
        for name in names.sorted() where name != me.name {
            let old = oldMe.flatMap { oldMe in base.topology.peer(named: name, of: oldMe, rotation: base.rotation) }
            let new = topology.peer(named: name, of: me, rotation: rotation)
            if let new, new != old { delta.upsertPeers.append(new) }
            if new == nil, old != nil { delta.removePeers.append(name) }
        }
    }

    private func ownSectionChanges(of node: String, sent: inout SentSections, into delta: inout DesiredStateDelta) {
        var members: [UInt64] = []
        forEachIPCacheMember(of: node) { members.append(UInt64($0.value) << 32 | UInt64($1)) }
        members.sort()
        // Both sorted by address (an address is one pod's): one merge pass.
        var i = 0, j = 0
        let old = sent.ipcache
        func entry(_ member: UInt64) -> IPCacheEntry {
            IPCacheEntry(cidr: "\(IPv4(UInt32(member >> 32)))/32", identity: UInt32(truncatingIfNeeded: member))
        }
        while i < old.count || j < members.count {
            let a = i < old.count ? old[i] >> 32 : .max, b = j < members.count ? members[j] >> 32 : .max
            if a < b { delta.removeIPCache.append(entry(old[i]).cidr); i += 1 }
            else if b < a { delta.upsertIPCache.append(entry(members[j])); j += 1 }
            else {
                if old[i] != members[j] { delta.upsertIPCache.append(entry(members[j])) }
                i += 1; j += 1
            }
        }
        sent.ipcache = members
        let rules = rules(for: node)
        if rules != sent.policy {
            delta.policy = rules
            sent.policy = rules
        }
        let egressRules = egressRules(for: node)
        if egressRules != sent.egressPolicy {
            delta.egressPolicy = egressRules
            sent.egressPolicy = egressRules
        }
        let pods = podsOnNode[node] ?? [:]
        if pods != sent.podIdentities {
            delta.podIdentities = pods
            sent.podIdentities = pods
        }
        let cidrs = cidrs(for: rules, egressRules)
        if cidrs != sent.cidrs {
            delta.cidrs = cidrs
            sent.cidrs = cidrs
        }
    }
}

extension Topology {
    /// `name`'s entry in `me`'s peer list (nil: not an active peer).
    func peer(named name: String, of me: Node, rotation: RotationState) -> Peer? {
        guard name != me.name, isActive(name), let other = nodes[name] else { return nil }
        return peer(other, of: me, rotation: rotation)
    }
}
