import Netlink

enum AddressFormat {
    /// `ip -j addr`: one entry per link, its addresses under `addr_info`.
    static func json(_ addresses: [Address], _ links: [Link]) -> JSON {
        let byLink = Dictionary(grouping: addresses, by: \.index)
        let entries = links.filter { byLink[$0.index] != nil }.map { link -> JSON in
            var o = JSONObject()
            o.add("ifindex", link.index)
            o.add("ifname", link.name)
            o.add("flags", strings: LinkFormat.flags(link))
            o.add("mtu", link.mtu)
            o.add("operstate", link.operState?.description)
            o.add("addr_info", JSON.array(byLink[link.index, default: []].map(info)))
            return o.json
        }
        return .array(entries)
    }

    static func info(_ address: Address) -> JSON {
        var o = JSONObject()
        o.add("family", address.local.address.family.description)
        o.add("local", address.local.address.description)
        o.add("address", address.peer?.description)
        o.add("prefixlen", address.local.length)
        o.add("broadcast", address.broadcast?.description)
        o.add("scope", address.scope.description)
        for name in flagNames(address.flags, AddressFlags.names) { o.add(name, true) }
        o.add("label", address.label)
        return o.json
    }

    /// `ip -o addr`: `2: veth0    inet 192.0.2.1/24 scope global veth0`
    static func text(_ address: Address, _ names: LinkNames) -> String {
        let family = address.local.address.family == .inet ? "inet" : "inet6"
        var line = "\(address.index): \(names[address.index] ?? "?")    \(family) \(address.local)"
        if let peer = address.peer { line += " peer \(peer)" }
        if let broadcast = address.broadcast { line += " brd \(broadcast)" }
        line += " scope \(address.scope)"
        for name in flagNames(address.flags, AddressFlags.names) { line += " \(name)" }
        if let label = address.label { line += " \(label)" }
        return line
    }
}
