import WeftModel

/// Pod bookkeeping: one pod in or out, keeping every index current. Each returns the
/// nodes whose admitted sources must be recomputed.
extension Planner {
    @discardableResult
    mutating func addPod(_ pod: PodSpec, key known: IdentityKey? = nil, refreshNow: Bool = true) -> Set<String> {
        let key = known ?? IdentityKey(pod)
        let identity = allocations.identity(for: key)
        let podKey = PodKey(namespace: pod.namespace, name: pod.name)
        var refresh: Set<String> = []
        identityPodCounts[identity, default: 0] += 1
        if identityPodCounts[identity] == 1 {
            // A new identity: it is a source for the policies admitting it, so every node
            // hosting what those policies select admits one more identity.
            identityKeys[identity] = key
            let admitting = policy.add(identity, key)
            let destinationOf = egress.add(identity, key)
            if refreshNow {
                // Nodes of what may send to it (a new destination in their egress rules).
                for j in destinationOf {
                    for sender in egress.selected[j] { refresh.formUnion(nodesByIdentity[sender] ?? []) }
                }
                // Nodes of what it may reach (a new source there) and of what may reach it
                // (a new reply target there).
                for j in admitting {
                    for destination in policy.selected[j] { refresh.formUnion(nodesByIdentity[destination] ?? []) }
                }
                for j in policy.selecting(identity) {
                    for source in policy.sources[j] { refresh.formUnion(nodesByIdentity[source] ?? []) }
                }
            }
        }
        if namedPorts.count(pod, identity: identity, 1), refreshNow { refresh.formUnion(namedPortReaders(of: identity)) }
        let address = IPv4(pod.address)
        pods[podKey] = PodEntry(node: pod.node, address: address, identity: identity, spec: pod)
        touch(pod.node)
        podsOnNode[pod.node, default: [:]][podKey.text] = identity
        digests[pod.node, default: NodeDigest()].add(pod: podKey.text, identity)
        if let address { addMember(address, identity, podKey: podKey, node: pod.node) }
        let count = localIdentities[pod.node, default: [:]][identity, default: 0]
        localIdentities[pod.node, default: [:]][identity] = count + 1
        if count == 0 {
            nodesByIdentity[identity, default: []].insert(pod.node)
            refresh.insert(pod.node)
        }
        if refreshNow { refresh.forEach { refreshSources($0) } }
        return refresh
    }

    /// An addressed pod: in the ipcache of its own node, and of every node admitting its identity.
    private mutating func addMember(_ address: IPv4, _ identity: UInt32, podKey: PodKey, node: String) {
        podsByIdentity[identity, default: []].append(Member(address: address, node: topology.nodes[node]!.index))
        addresses[address] = podKey
        digests[node, default: NodeDigest()].add(address, identity)
        for other in nodesBySource[identity] ?? [] where other != node {
            touch(other)
            digests[other, default: NodeDigest()].add(address, identity)
        }
    }

    mutating func removePod(_ podKey: PodKey) {
        guard let entry = pods.removeValue(forKey: podKey) else { return }
        let identity = entry.identity
        touch(entry.node)
        podsOnNode[entry.node]?[podKey.text] = nil
        if podsOnNode[entry.node]?.isEmpty == true { podsOnNode[entry.node] = nil }
        digests[entry.node]?.remove(pod: podKey.text, identity)
        if let address = entry.address { removeMember(address, identity, podKey: podKey, node: entry.node) }
        var refresh: Set<String> = []
        if namedPorts.count(entry.spec, identity: identity, -1) { refresh.formUnion(namedPortReaders(of: identity)) }
        let count = localIdentities[entry.node]?[identity] ?? 0
        if count <= 1 {
            localIdentities[entry.node]?[identity] = nil
            if localIdentities[entry.node]?.isEmpty == true { localIdentities[entry.node] = nil }
            nodesByIdentity[identity]?.remove(entry.node)
            refresh.insert(entry.node)
        } else {
            localIdentities[entry.node]?[identity] = count - 1
        }
        identityPodCounts[identity, default: 1] -= 1
        if identityPodCounts[identity] == 0 {
            // The identity's last pod: it stops being a source anywhere.
            identityPodCounts[identity] = nil
            podsByIdentity[identity] = nil
            nodesByIdentity[identity] = nil
            refresh.formUnion(nodesBySource[identity] ?? [])
            policy.remove(identity)
            egress.remove(identity)
            identityKeys[identity] = nil
        }
        refresh.forEach { refreshSources($0) }
    }

    private mutating func removeMember(_ address: IPv4, _ identity: UInt32, podKey: PodKey, node: String) {
        if addresses[address] == podKey { addresses[address] = nil }
        digests[node]?.remove(address, identity)
        for other in nodesBySource[identity] ?? [] where other != node {
            touch(other)
            digests[other]?.remove(address, identity)
        }
        let member = Member(address: address, node: topology.nodes[node]!.index)
        if let at = podsByIdentity[identity]?.firstIndex(of: member) { podsByIdentity[identity]!.swapAt(at, podsByIdentity[identity]!.count - 1); podsByIdentity[identity]!.removeLast() }
    }

    /// The nodes whose rules follow what `identity`'s named ports resolve to: those hosting
    /// it (their ingress rules to it) or a source a named-port policy admits to it, and
    /// those hosting a pod a policy with a named port isolates for egress (their rules
    /// toward it, their ipcache).
    func namedPortReaders(of identity: UInt32) -> Set<String> {
        var nodes: Set<String> = []
        if !policy.namedPortPolicies.isEmpty { nodes.formUnion(nodesByIdentity[identity] ?? []) }
        // the reverse rules toward it (agents before 2026-12) on its sources' nodes
        for j in policy.selecting(identity) where policy.namedPortPolicies.contains(j) {
            for source in policy.sources[j] { nodes.formUnion(nodesByIdentity[source] ?? []) }
        }
        for j in egress.namedPortPolicies {
            for sender in egress.selected[j] { nodes.formUnion(nodesByIdentity[sender] ?? []) }
        }
        return nodes
    }

    /// Recomputes the source identities `node`'s rules admit, the inverse index, and the
    /// node's digest: members of gained sources in, of lost ones out, rules rehashed.
    mutating func refreshSources(_ node: String) {
        var sources: Set<UInt32> = []
        for identity in (localIdentities[node] ?? [:]).keys {
            policy.referenced(by: identity, named: namedPorts, into: &sources)
            egress.referenced(by: identity, named: namedPorts, into: &sources)
        }
        let old = nodeSources[node] ?? []
        touch(node)
        var digest = digests[node] ?? NodeDigest()
        let index = topology.nodes[node]!.index
        for gone in old.subtracting(sources) {
            nodesBySource[gone]?.remove(node)
            if nodesBySource[gone]?.isEmpty == true { nodesBySource[gone] = nil }
            for member in podsByIdentity[gone] ?? [] where member.node != index { digest.remove(member.address, gone) }
        }
        for new in sources.subtracting(old) {
            nodesBySource[new, default: []].insert(node)
            for member in podsByIdentity[new] ?? [] where member.node != index { digest.add(member.address, new) }
        }
        nodeSources[node] = sources.isEmpty ? nil : sources
        digest.rules = rulesHash(node)
        digests[node] = digest
    }
}
