import WeftModel
import WeftPlanner

/// Pods: which enter the plan, and one watch event as the planner's incremental change.
extension ClusterState {
    /// A pod as the planner takes it, or nil (and why, in `excluded`). A scheduled pod
    /// without an IPv4 address yet is planned with address "" (its node learns its identity
    /// before weft-cni ADD gives it an address). Not planned: hostNetwork pods (the node's
    /// own address), pods not scheduled, Succeeded/Failed pods, terminating pods (their
    /// address may already be another pod's), pods on a node that is not planned, and an
    /// address another planned pod holds or outside the node's pod CIDR.
    mutating func admit(_ key: ObjectReference, _ pod: PodObject, cidrs: [String: IPv4Prefix]) -> PodSpec? {
        func skip(_ why: String?) -> PodSpec? {
            if let why { excluded[InvolvedObject(.pod, namespace: key.namespace, name: key.name)] = why }
            return nil
        }
        if pod.spec?.hostNetwork == true { return skip(nil) }
        guard let node = pod.spec?.nodeName, !node.isEmpty else { return skip(nil) }
        if ["Succeeded", "Failed"].contains(pod.status?.phase ?? "") || pod.metadata.deletionTimestamp != nil { return skip(nil) }
        let addresses = (pod.status?.podIPs ?? []).map(\.ip) + [pod.status?.podIP].compactMap { $0 }
        guard let cidr = cidrs[node] else { return skip("its node \(node) is not planned") }
        let text = addresses.first(where: { IPv4($0) != nil }) ?? ""
        if let address = IPv4(text) {
            guard cidr.contains(address), address != cidr.first else { return skip("address \(text) is not a pod address of node \(node) (\(cidr))") }
            if let owner = owners[address], owner != key { return skip("address \(text) is also pod \(owner)'s") }
        }
        let ports = (pod.spec?.containers ?? []).flatMap { $0.ports ?? [] }.prefix(PolicyLimits.portsPerRule).compactMap { port -> ContainerPort? in
            guard let proto = TransportProtocol(rawValue: port.protocol ?? "TCP"), (1...65_535).contains(port.containerPort) else { return nil }
            return ContainerPort(name: port.name, containerPort: port.containerPort, proto)
        }
        excluded[InvolvedObject(.pod, namespace: key.namespace, name: key.name)] = nil
        return PodSpec(namespace: key.namespace, name: key.name, node: node, address: text, labels: pod.metadata.labels ?? [:], ports: ports)
    }

    /// One pod event: the cache updated, and the plan's change (none when the pod neither
    /// was nor is planned, or nothing the plan holds of it changed).
    public mutating func set(pod: PodObject, deleted: Bool) -> [Planner.PodChange] {
        let key = Self.key(pod.metadata)
        pods[key] = deleted ? nil : pod
        let before = planned[key]
        if let before, let address = IPv4(before.address) { owners[address] = nil }
        let cidrs = Dictionary(plannedNodes.map { ($0.name, IPv4Prefix($0.podCIDR)!) }, uniquingKeysWith: { a, _ in a })
        let after = deleted ? nil : admit(key, pod, cidrs: cidrs)
        if deleted { excluded[InvolvedObject(.pod, namespace: key.namespace, name: key.name)] = nil }
        planned[key] = after
        if let after, let address = IPv4(after.address) { owners[address] = key }
        switch (before, after) {
        case (nil, nil): return []
        case (_, let pod?): return pod == before ? [] : [.upsert(pod)]
        case (.some, nil): return [.delete(namespace: key.namespace, name: key.name)]
        }
    }
}
