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
        if node.device == node.uplink { problems.append("node.device \"\(node.device)\" is the uplink: the overlay needs a device of its own") }
        var names: Set<String> = [node.name], indexes: Set<UInt32> = [node.index]
        for (i, peer) in peers.enumerated() {
            if !names.insert(peer.name).inserted { problems.append("peers[\(i)].name \"\(peer.name)\" appears twice (or is this node)") }
            if !indexes.insert(peer.index).inserted { problems.append("peers[\(i)].index \(peer.index) appears twice (or is this node's)") }
            if peer.index > 0xffff { problems.append("peers[\(i)].index \(peer.index) does not fit the 16-bit mark field") }
            if peer.encrypt && cluster.encryption && (peer.outbound == nil || peer.inbound == nil) {
                problems.append("peers[\(i)] (\(peer.name)) must encrypt but has no outbound/inbound SA plan")
            }
            problems += Self.rotationProblems(peer, at: "peers[\(i)]")
        }
        if node.index > 0xffff { problems.append("node.index \(node.index) does not fit the 16-bit mark field") }
        problems += Self.ruleProblems(policy, at: "policy") + Self.ruleProblems(egressPolicy ?? [], at: "egressPolicy")
        if let limits = cluster.saLimits {
            if limits.hardPackets == 0 || limits.softPackets > limits.hardPackets {
                problems.append("cluster.saLimits: softPackets \(limits.softPackets) must be <= hardPackets \(limits.hardPackets) > 0")
            }
            if limits.hardPackets > UInt64(UInt32.max) {
                problems.append("cluster.saLimits.hardPackets \(limits.hardPackets) would let the 32-bit ESP sequence number wrap")
            }
            if let soft = limits.softBytes, let hard = limits.hardBytes, soft > hard {
                problems.append("cluster.saLimits: softBytes \(soft) must be <= hardBytes \(hard)")
            }
        }
        return problems
    }

    /// A next-epoch SA must use another SPI than the current one: reusing it would make the
    /// kernel replace the live SA instead of adding a second one beside it.
    static func rotationProblems(_ peer: Peer, at path: String) -> [String] {
        var problems: [String] = []
        if let next = peer.inboundNext {
            if peer.inbound == nil { problems.append("\(path).inboundNext without inbound") }
            if next.spi == peer.inbound?.spi { problems.append("\(path).inboundNext.spi 0x\(String(next.spi, radix: 16)) equals inbound.spi") }
        }
        if let next = peer.outboundNext {
            if peer.outbound == nil { problems.append("\(path).outboundNext without outbound") }
            if next.spi == peer.outbound?.spi { problems.append("\(path).outboundNext.spi 0x\(String(next.spi, radix: 16)) equals outbound.spi") }
        }
        for (name, plan) in [("outbound", peer.outbound), ("inbound", peer.inbound), ("inboundNext", peer.inboundNext), ("outboundNext", peer.outboundNext)] {
            // SPIs 1-255 are reserved by IANA (RFC 4303 section 2.1), 0 means "none".
            if let plan, plan.spi < 256 { problems.append("\(path).\(name).spi \(plan.spi) is reserved (must be >= 256)") }
        }
        return problems
    }
}

extension DesiredNodeState {
    /// Each rule names a known protocol, and a range only where there are ports to range over.
    static func ruleProblems(_ rules: [PolicyRule], at path: String) -> [String] {
        var problems: [String] = []
        for (i, rule) in rules.enumerated() {
            if !PolicyRule.protocols.contains(rule.proto) {
                problems.append("\(path)[\(i)].proto \"\(rule.proto)\" is not one of \(PolicyRule.protocols.joined(separator: ", "))")
            }
            guard let end = rule.portEnd else { continue }
            if rule.port == 0 || end < rule.port || !["tcp", "udp", "sctp"].contains(rule.proto) {
                problems.append("\(path)[\(i)]: portEnd \(end) needs a tcp, udp or sctp rule whose port (\(rule.port)) is 1-\(end)")
            }
        }
        return problems
    }
}
