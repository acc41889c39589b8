import Netlink

enum NexthopFormat {
    /// `ip -j nexthop`: `{"id":7,"gateway":…,"dev":…,"scope":"link","protocol":"87","flags":["onlink"]}`
    static func json(_ n: Nexthop, _ names: LinkNames) -> JSON {
        var o = JSONObject()
        o.add("id", n.id)
        o.add("gateway", n.gateway?.description)
        o.add("dev", names[n.outputIndex])
        if n.blackhole { o.add("blackhole", JSON.null) }
        o.add("scope", n.scope.description)
        o.add("protocol", n.protocolID.description)
        o.add("flags", strings: flagNames(n.flags, RouteFlags.names))
        return o.json
    }

    /// `id 7 via 10.244.1.0 dev weft0 scope link proto 87 onlink`
    static func text(_ n: Nexthop, _ names: LinkNames) -> String {
        var parts = ["id \(n.id)"]
        if let gateway = n.gateway { parts.append("via \(gateway)") }
        if let dev = names[n.outputIndex] { parts.append("dev \(dev)") }
        if n.blackhole { parts.append("blackhole") }
        parts.append("scope \(n.scope)")
        parts.append("proto \(n.protocolID)")
        return (parts + flagNames(n.flags, RouteFlags.names)).joined(separator: " ")
    }
}
