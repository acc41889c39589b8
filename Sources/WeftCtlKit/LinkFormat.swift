import Netlink

/// Resolves interface indexes to names for `dev` fields, as iproute2 does.
struct LinkNames {
    var names: [Int32: String] = [:]

    init(_ links: [Link]) {
        for link in links { names[link.index] = link.name }
    }

    subscript(index: Int32?) -> String? {
        guard let index, index != 0 else { return nil }
        return names[index] ?? "if\(index)"
    }
}

enum LinkFormat {
    static let running: UInt32 = 0x40  // IFF_RUNNING, reported as NO-CARRIER when absent

    static func flags(_ link: Link) -> [String] {
        var names: [String] = []
        if link.flags.contains(.up) && link.flags.rawValue & running == 0 { names.append("NO-CARRIER") }
        return names + flagNames(link.flags, InterfaceFlags.names)
    }

    static func linkType(_ link: Link) -> String {
        switch link.hardwareType {
        case 1: "ether"
        case 772: "loopback"
        case 65534: "none"
        default: "\(link.hardwareType)"
        }
    }

    static func json(_ link: Link, _ names: LinkNames, details: Bool) -> JSON {
        var o = JSONObject()
        o.add("ifindex", link.index)
        if let parent = link.parentIndex, parent != link.index {
            o.add("link", link.linkNetnsID == nil ? names[parent] : "if\(parent)")
        }
        o.add("ifname", link.name)
        o.add("flags", strings: flags(link))
        o.add("mtu", link.mtu)
        o.add("qdisc", link.qdisc)
        o.add("master", names[link.master])
        o.add("operstate", link.operState?.description)
        o.add("group", link.group.map { $0 == 0 ? "default" : "\($0)" })
        o.add("txqlen", link.txQueueLength)
        o.add("link_type", linkType(link))
        o.add("address", link.address?.description)
        o.add("broadcast", link.broadcast?.description)
        if details, let kind = link.kind {
            var info = JSONObject()
            info.add("info_kind", kind.name)
            info.add("info_data", kindData(kind, names))
            o.add("linkinfo", info.json)
        }
        return o.json
    }

    static func kindData(_ kind: LinkKind, _ names: LinkNames) -> JSON? {
        switch kind {
        case .vxlan(let v):
            var o = JSONObject()
            o.add("id", v.vni)
            o.add(v.group.map { isMulticast($0) ? "group" : "remote" } ?? "group", v.group?.description)
            o.add("local", v.local?.description)
            o.add("link", v.underlayIndex.map { names[$0] ?? "" })
            if let range = v.portRange {
                o.add("port_range", JSON.object([("low", .unsigned(UInt64(range.lowerBound))), ("high", .unsigned(UInt64(range.upperBound)))]))
            }
            o.add("port", v.port)
            o.add("learning", v.learning)
            o.add("proxy", v.proxy == true ? true : nil)
            o.add("l2miss", v.l2miss == true ? true : nil)
            o.add("l3miss", v.l3miss == true ? true : nil)
            o.add("ttl", v.ttl)
            o.add("ageing", v.ageing)
            o.add("udp_csum", v.udpChecksum)
            o.add("external", v.collectMetadata == true ? true : nil)
            return o.json
        case .bridge(let b):
            var o = JSONObject()
            o.add("stp_state", b.stpEnabled.map { $0 ? 1 : 0 })
            o.add("vlan_filtering", b.vlanFiltering.map { $0 ? 1 : 0 })
            return o.json
        case .veth, .other:
            return nil
        }
    }

    static func isMulticast(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let v): v >> 28 == 0xe
        case .v6(let high, _): high >> 56 == 0xff
        }
    }

    /// `2: weft0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UNKNOWN ...`
    static func text(_ link: Link, _ names: LinkNames, details: Bool) -> String {
        var name = link.name
        if let parent = link.parentIndex, parent != link.index {
            name += "@" + (link.linkNetnsID == nil ? (names[parent] ?? "") : "if\(parent)")
        }
        var line = "\(link.index): \(name): <\(flags(link).joined(separator: ","))>"
        if let mtu = link.mtu { line += " mtu \(mtu)" }
        if let qdisc = link.qdisc { line += " qdisc \(qdisc)" }
        if let master = names[link.master] { line += " master \(master)" }
        if let state = link.operState { line += " state \(state)" }
        if let qlen = link.txQueueLength { line += " qlen \(qlen)" }
        line += "\n    link/\(linkType(link))"
        if let address = link.address { line += " \(address)" }
        if let broadcast = link.broadcast { line += " brd \(broadcast)" }
        if details, let kind = link.kind { line += "\n    " + kindText(kind, names) }
        return line
    }

    static func kindText(_ kind: LinkKind, _ names: LinkNames) -> String {
        switch kind {
        case .vxlan(let v):
            var parts = ["vxlan id \(v.vni)"]
            if let group = v.group { parts.append("\(isMulticast(group) ? "group" : "remote") \(group)") }
            if let local = v.local { parts.append("local \(local)") }
            if let dev = v.underlayIndex.flatMap({ names[$0] }) { parts.append("dev \(dev)") }
            if let port = v.port { parts.append("dstport \(port)") }
            if v.learning == false { parts.append("nolearning") }
            if let ttl = v.ttl, ttl != 0 { parts.append("ttl \(ttl)") }
            if let ageing = v.ageing { parts.append("ageing \(ageing)") }
            return parts.joined(separator: " ")
        case .bridge(let b):
            return "bridge" + (b.stpEnabled.map { " stp_state \($0 ? 1 : 0)" } ?? "")
        case .veth: return "veth"
        case .other(let name): return name
        }
    }
}
