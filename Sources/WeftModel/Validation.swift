extension DesiredNodeState {
    /// Structural checks that need no address parsing (the agent parses addresses when it
    /// turns the document into kernel objects, and names the field that fails).
    public func validate() -> [String] {
        var problems: [String] = []
        if cluster.vni == 0 || cluster.vni >= 1 << 24 { problems.append("cluster.vni \(cluster.vni) is not in 1-16777215") }
        if cluster.port == 0 { problems.append("cluster.port must not be 0") }
        if node.mtu < 576 || node.mtu > 65_535 { problems.append("node.mtu \(node.mtu) is not in 576-65535") }
        if node.name.isEmpty { problems.append("node.name is empty") }
        if node.device.isEmpty || node.device.utf8.count > 15 { problems.append("node.device \"\(node.device)\" is not a valid interface name (1-15 bytes)") }
        var names: Set<String> = [node.name], indexes: Set<UInt32> = [node.index]
        for (i, peer) in peers.enumerated() {
            if !names.insert(peer.name).inserted { problems.append("peers[\(i)].name \"\(peer.name)\" appears twice (or is this node)") }
            if !indexes.insert(peer.index).inserted { problems.append("peers[\(i)].index \(peer.index) appears twice (or is this node's)") }
            if peer.index > 0xffff { problems.append("peers[\(i)].index \(peer.index) does not fit the 16-bit mark field") }
            if peer.encrypt && cluster.encryption && (peer.outbound == nil || peer.inbound == nil) {
                problems.append("peers[\(i)] (\(peer.name)) must encrypt but has no outbound/inbound SA plan")
            }
        }
        if node.index > 0xffff { problems.append("node.index \(node.index) does not fit the 16-bit mark field") }
        for (i, rule) in policy.enumerated() where !["tcp", "udp", "icmp", "any"].contains(rule.proto) {
            problems.append("policy[\(i)].proto \"\(rule.proto)\" is not tcp, udp, icmp or any")
        }
        return problems
    }
}
