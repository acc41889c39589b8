import WeftModel

/// One thing wrong with a cluster spec, at a path the file loader turns into a line
/// number ("pods[3].address").
public struct SpecProblem: Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

extension ClusterSpec {
    /// Every inconsistency, not just the first: a rejected file should be fixable in one go.
    public func problems() -> [SpecProblem] {
        var problems: [SpecProblem] = []
        func problem(_ path: String, _ message: String) { problems.append(SpecProblem(path: path, message: message)) }

        if cluster.vni == 0 || cluster.vni >= 1 << 24 { problem("cluster.vni", "\(cluster.vni) is not in 1-16777215") }
        if cluster.port == 0 { problem("cluster.port", "must not be 0") }
        if cluster.id.isEmpty { problem("cluster.id", "is empty") }
        let minimumMTU = 576 + OverlayMTU.vxlanOverIPv4 + OverlayMTU.espGCM
        if cluster.underlayMTU < minimumMTU || cluster.underlayMTU > 65_535 {
            problem("cluster.underlayMTU", "\(cluster.underlayMTU) is not in \(minimumMTU)-65535")
        }

        var nodeCIDRs: [String: IPv4Prefix] = [:], nodeNames: Set<String> = []
        var underlays: [IPv4: String] = [:]
        var ranges: [(prefix: IPv4Prefix, index: Int)] = []
        for (i, node) in nodes.enumerated() {
            let path = "nodes[\(i)]"
            if !NodeName.isValid(node.name) {
                problem("\(path).name", "\"\(node.name.prefix(64))\" is not a node name (a DNS-1123 subdomain: lowercase letters, digits, '-', '.', at most \(NodeName.maximumLength))")
            }
            if !nodeNames.insert(node.name).inserted {
                problem("\(path).name", "node \"\(node.name)\" appears twice")
            }
            if let ip = IPv4(node.underlay) {
                if let other = underlays[ip] { problem("\(path).underlay", "\(node.underlay) is also node \(other)'s") }
                if let range = IPv4Prefix.specialPurpose.first(where: { $0.prefix.contains(ip) }) {
                    problem("\(path).underlay", "\(node.underlay) is in \(range.name) \(range.prefix), not a node's unicast address")
                }
                underlays[ip] = node.name
            } else {
                problem("\(path).underlay", "\"\(node.underlay)\" is not an IPv4 address")
            }
            guard let cidr = IPv4Prefix(node.podCIDR), cidr.isCanonical, (IPv4Prefix.shortestPodCIDR...30).contains(cidr.length) else {
                problem("\(path).podCIDR", "\"\(node.podCIDR.prefix(64))\" is not an IPv4 network prefix of length \(IPv4Prefix.shortestPodCIDR)-30 (like 10.244.1.0/24)")
                continue
            }
            if let range = IPv4Prefix.specialPurpose.first(where: { $0.prefix.overlaps(cidr) }) {
                problem("\(path).podCIDR", "\(cidr) overlaps \(range.name) \(range.prefix)")
                continue
            }
            if nodeCIDRs[node.name] == nil { nodeCIDRs[node.name] = cidr }  // a duplicate does not hide the first
            ranges.append((cidr, i))
        }
        // Overlaps: sorted by first address, each range against the furthest one before it.
        ranges.sort { $0.prefix.first < $1.prefix.first }
        // A pod CIDR holding a node's underlay address would route that node's VXLAN
        // endpoint into the overlay (a loop, and the peer unreachable). Each address is
        // looked up in the sorted ranges (the nearest start at or below it).
        for (ip, owner) in underlays.sorted(by: { $0.key < $1.key }) {
            var low = 0, high = ranges.count
            while low < high { let mid = (low + high) / 2; if ranges[mid].prefix.first <= ip { low = mid + 1 } else { high = mid } }
            if low > 0, ranges[low - 1].prefix.contains(ip) {
                problem("nodes[\(ranges[low - 1].index)].podCIDR", "\(ranges[low - 1].prefix) contains node \(owner)'s underlay address \(ip)")
            }
        }
        var widest: (prefix: IPv4Prefix, index: Int)?
        for range in ranges {
            if let previous = widest, range.prefix.first <= previous.prefix.last {
                problem("nodes[\(range.index)].podCIDR", "\(range.prefix) overlaps \(nodes[previous.index].name)'s \(previous.prefix)")
            }
            if widest == nil || range.prefix.last > widest!.prefix.last { widest = range }
        }

        var podNames: Set<String> = [], addresses: [IPv4: String] = [:]
        for (i, pod) in pods.enumerated() {
            let path = "pods[\(i)]"
            let id = "\(pod.namespace)/\(pod.name)"
            if pod.name.isEmpty { problem("\(path).name", "is empty") }
            if !podNames.insert(id).inserted { problem("\(path).name", "pod \(id) appears twice") }
            if pod.address.isEmpty {  // scheduled, no address yet
                if nodeCIDRs[pod.node] == nil && !nodeNames.contains(pod.node) { problem("\(path).node", "unknown node \"\(pod.node)\"") }
                problems += portProblems(pod.ports, at: "\(path).ports")
                continue
            }
            guard let ip = IPv4(pod.address) else { problem("\(path).address", "\"\(pod.address)\" is not an IPv4 address"); continue }
            if let other = addresses[ip] { problem("\(path).address", "\(pod.address) is also pod \(other)'s") }
            addresses[ip] = id
            guard let cidr = nodeCIDRs[pod.node] else {
                if !nodeNames.contains(pod.node) { problem("\(path).node", "unknown node \"\(pod.node)\"") }
                continue
            }
            problems += portProblems(pod.ports, at: "\(path).ports")
            if !cidr.contains(ip) { problem("\(path).address", "\(pod.address) is outside node \(pod.node)'s pod CIDR \(cidr)") }
            else if ip == cidr.first { problem("\(path).address", "\(pod.address) is node \(pod.node)'s VTEP address (the CIDR's first)") }
        }

        var policyNames: Set<String> = []
        for (i, policy) in policies.enumerated() {
            let path = "policies[\(i)]"
            if !policyNames.insert(policy.name).inserted { problem("\(path).name", "policy \"\(policy.name)\" appears twice") }
            if !["tcp", "udp", "icmp", "any"].contains(policy.proto) { problem("\(path).proto", "\"\(policy.proto)\" is not tcp, udp, icmp or any") }
            else if policy.port != 0 && !["tcp", "udp"].contains(policy.proto) { problem("\(path).port", "a port needs proto tcp or udp") }
            if policy.from.isEmpty { problem("\(path).from", "is empty (a policy allows sources; to isolate pods, allow nothing else)") }
        }
        problems += networkPolicyProblems()
        for (i, name) in revoked.enumerated() where !nodeNames.contains(name) {
            problem("revoked[\(i)]", "unknown node \"\(name)\"")
        }
        return problems
    }
}

extension ClusterSpec {
    /// Namespaces, NetworkPolicies: the API server's rules, and no name twice.
    func networkPolicyProblems() -> [SpecProblem] {
        var problems: [SpecProblem] = [], seen: Set<String> = []
        for (i, namespace) in namespaces.enumerated() {
            let path = "namespaces[\(i)]"
            if !Labels.isDNSLabel(namespace.name) { problems.append(SpecProblem(path: "\(path).name", message: "\"\(namespace.name.prefix(64))\" is not a DNS-1123 label")) }
            if !seen.insert(namespace.name).inserted { problems.append(SpecProblem(path: "\(path).name", message: "namespace \"\(namespace.name)\" appears twice")) }
            problems += Labels.problems(namespace.labels, at: "\(path).labels")
        }
        var names: Set<ObjectReference> = []
        for (i, policy) in networkPolicies.enumerated() {
            let path = "networkPolicies[\(i)]"
            if !names.insert(policy.metadata).inserted { problems.append(SpecProblem(path: "\(path).metadata.name", message: "policy \(policy.metadata) appears twice")) }
            problems += policy.problems(at: path)
        }
        return problems
    }

    /// A pod's container ports: numbers in range, names as the API allows, bounded.
    func portProblems(_ ports: [ContainerPort], at path: String) -> [SpecProblem] {
        var problems: [SpecProblem] = []
        if ports.count > PolicyLimits.portsPerRule { problems.append(SpecProblem(path: path, message: "\(ports.count) ports, more than \(PolicyLimits.portsPerRule)")) }
        for (i, port) in ports.prefix(PolicyLimits.portsPerRule).enumerated() {
            if !(1...65_535).contains(port.containerPort) { problems.append(SpecProblem(path: "\(path)[\(i)].containerPort", message: "\(port.containerPort) is not in 1-65535")) }
            if let name = port.name, !Labels.isServiceName(name) { problems.append(SpecProblem(path: "\(path)[\(i)].name", message: "\"\(name.prefix(64))\" is not a port name")) }
        }
        return problems
    }
}
