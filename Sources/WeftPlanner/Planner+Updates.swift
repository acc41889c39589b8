import WeftModel

/// Changes to the plan. Each returns the active nodes whose desired state changed (their
/// revisions have been increased): exactly those get a delta.
extension Planner {
    /// A new cluster spec. Pod-only changes are applied incrementally; anything else
    /// rebuilds the plan. A spec with problems throws and changes nothing.
    public mutating func update(to new: ClusterSpec) throws(PlanError) -> Set<String> {
        let problems = new.problems()
        guard problems.isEmpty else { throw PlanError(problems.map(\.description).joined(separator: "; ")) }
        var structure = new
        structure.pods = []
        guard structure == self.structure else { return try rebuild(new) }
        let after = Dictionary(new.pods.map { (PodKey(namespace: $0.namespace, name: $0.name), $0) }, uniquingKeysWith: { a, _ in a })
        var changes: [PodChange] = pods.keys.filter { after[$0] == nil }.map { .delete(namespace: $0.namespace, name: $0.name) }
        changes += new.pods.filter { pods[PodKey(namespace: $0.namespace, name: $0.name)]?.spec != $0 }.map { .upsert($0) }
        return try apply(changes)
    }

    /// One pod in, changed or out: what a Kubernetes watch event or a file diff yields.
    public enum PodChange: Hashable, Sendable {
        case upsert(PodSpec)
        case delete(namespace: String, name: String)
    }

    /// Applies pod changes incrementally. Each is checked first (known node, address in its
    /// CIDR and not another pod's); a bad one throws and nothing changes.
    public mutating func apply(_ changes: [PodChange]) throws(PlanError) -> Set<String> {
        try check(changes)
        let sorted = changes.sorted { $0.order < $1.order }
        // New identities are numbered in sorted order, as in a plan from scratch.
        let upserts = sorted.compactMap { if case .upsert(let pod) = $0 { pod } else { nil } }
        for key in Set(upserts.map(IdentityKey.init)).sorted() { _ = allocations.identity(for: key) }
        touched = [:]
        for change in sorted {
            if pods[change.podKey] != nil { removePod(change.podKey) }
            if case .upsert(let pod) = change { addPod(pod) }
        }
        let changed = Set(touched.filter { digests[$0.key] ?? NodeDigest() != $0.value && topology.isActive($0.key) }.keys)
        touched = [:]
        bump(changed)
        return changed
    }

    private func check(_ changes: [PodChange]) throws(PlanError) {
        var problems: [String] = []
        var claimed: [IPv4: PodKey] = [:]
        let leaving = Set(changes.map(\.podKey))
        for case .upsert(let pod) in changes {
            let id = "\(pod.namespace)/\(pod.name)"
            if pod.address.isEmpty {  // scheduled, no address yet
                if topology.nodes[pod.node] == nil { problems.append("pod \(id): unknown node \"\(pod.node)\"") }
                continue
            }
            guard let address = IPv4(pod.address) else { problems.append("pod \(id): address \"\(pod.address)\" is not an IPv4 address"); continue }
            guard let node = topology.nodes[pod.node], let cidr = IPv4Prefix(node.settings.podCIDR) else {
                problems.append("pod \(id): unknown node \"\(pod.node)\""); continue
            }
            if !cidr.contains(address) || address == cidr.first {
                problems.append("pod \(id): \(pod.address) is not a pod address of node \(pod.node) (\(cidr), first address excluded)")
            }
            let key = PodKey(namespace: pod.namespace, name: pod.name)
            if let owner = addresses[address], owner != key, !leaving.contains(owner) {
                problems.append("pod \(id): \(pod.address) is also pod \(owner.namespace)/\(owner.name)'s")
            } else if let other = claimed[address], other != key {
                problems.append("pod \(id): \(pod.address) is also pod \(other.namespace)/\(other.name)'s")
            }
            claimed[address] = key
        }
        guard problems.isEmpty else { throw PlanError(problems.joined(separator: "; ")) }
    }

    private mutating func rebuild(_ new: ClusterSpec) throws(PlanError) -> Set<String> {
        var rebuilt = try Planner(spec: new, allocations: allocations, credentials: credentials, rotation: rotation)
        rebuilt.revisions = revisions.merging(rebuilt.revisions) { old, _ in old }
        let shared = topology.sharesSections(with: rebuilt.topology)
        var changed: Set<String> = []
        for node in rebuilt.activeNodes {
            if !shared || !topology.isActive(node) || topology.nodes[node]?.settings != rebuilt.topology.nodes[node]?.settings
                || digests[node] != rebuilt.digests[node] {
                changed.insert(node)
            }
        }
        self = rebuilt
        bump(changed)
        return changed
    }

    /// A node joined, renewed with a new key, or changed incarnation: everyone's peer list
    /// (its key, its incarnation) changes.
    public mutating func setCredentials(_ credential: NodeCredentials?, for node: String) throws(PlanError) -> Set<String> {
        try setCredentials([node: credential])
    }

    /// Several nodes' credentials at once (a group of joins): one topology re-plan for all.
    /// A nil value removes the node's credentials.
    public mutating func setCredentials(_ changes: [String: NodeCredentials?]) throws(PlanError) -> Set<String> {
        // O(changes) when nothing changes (a renewal with the same key and incarnation).
        guard changes.contains(where: { credentials[$0.key] != $0.value }) else { return [] }
        var updated = credentials
        for (node, credential) in changes { updated[node] = credential }
        // Credentials only shape the topology (peer rows, who is active): pods, identities
        // and policy stay, so a join costs O(nodes), not a re-plan of every pod.
        var allocations = allocations
        topology = try Topology(spec: structure, allocations: &allocations, credentials: updated)
        self.allocations = allocations
        credentials = updated
        let changed = Set(activeNodes)
        bump(changed)
        return changed
    }

    /// After a restart: every node's revision continues above the one it had before
    /// (`previous`), so revisions only ever grow for a node, across controller restarts.
    public mutating func continueRevisions(after previous: [String: UInt64]) {
        for (node, revision) in previous where revisions[node] != nil { revisions[node] = revision + 1 }
    }

    /// Starts a key rotation (a new epoch), unless one is under way.
    public mutating func startRotation() -> Set<String> {
        guard rotation.startRotation() else { return [] }
        return bumpAll()
    }

    /// Records what `node` acknowledged (see `RotationState.facts(of:)`), and ends the
    /// rotation when every node has switched.
    public mutating func acknowledge(node: String, inboundEpoch: UInt32?, outboundEpoch: UInt32?) -> Set<String> {
        let before = rotation
        rotation.acknowledge(node: node, inboundEpoch: inboundEpoch, outboundEpoch: outboundEpoch)
        _ = rotation.completeIfDone(nodes: activeNodes)
        // Outside a rotation the recorded facts shape no plan: nobody's state changes (an
        // agent's routine acknowledgement must not send every node a new revision).
        guard rotation != before, before.rotating || rotation.rotating else { return [] }
        return bumpAll()
    }

    private mutating func bumpAll() -> Set<String> {
        let all = Set(activeNodes)
        bump(all)
        return all
    }

    private mutating func bump(_ nodes: Set<String>) {
        for node in nodes { revisions[node, default: 0] += 1 }
    }
}

extension RotationState {
    /// What acknowledging `state` proves: the lowest epoch of the newest inbound SA over
    /// all peers (installed for every peer), and the epoch the node sends with when it is
    /// the same towards every peer. A node without peers has nothing to wait for.
    public func facts(of state: DesiredNodeState) -> (inboundEpoch: UInt32?, outboundEpoch: UInt32?) {
        guard !state.peers.isEmpty else { return (targetEpoch, targetEpoch) }
        let inbound = state.peers.map { peer in peer.activeInbound.map(\.epoch).max() ?? 0 }.min()
        let outbound = Set(state.peers.map { $0.activeOutbound?.epoch ?? 0 })
        return (inbound, outbound.count == 1 ? outbound.first : nil)
    }
}

extension Topology {
    /// What every node's document shares: the active nodes' peer entries, cluster settings
    /// and the quarantine list.
    func sharesSections(with other: Topology) -> Bool {
        clusterSettings == other.clusterSettings && quarantined == other.quarantined && active.map(\.peer) == other.active.map(\.peer)
    }
}

extension Planner.PodChange {
    var podKey: Planner.PodKey {
        switch self {
        case .upsert(let pod): Planner.PodKey(namespace: pod.namespace, name: pod.name)
        case .delete(let namespace, let name): Planner.PodKey(namespace: namespace, name: name)
        }
    }

    /// Deletes first, then upserts, each by namespace and name: one order for one input.
    var order: (Int, String, String) {
        switch self {
        case .delete(let namespace, let name): (0, namespace, name)
        case .upsert(let pod): (1, pod.namespace, pod.name)
        }
    }
}
