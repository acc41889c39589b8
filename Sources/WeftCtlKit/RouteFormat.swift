import Netlink

enum RouteFormat {
    /// `default`, a bare address for host routes, `A/N` otherwise, as iproute2 prints them.
    static func destination(_ route: Route) -> String {
        if route.destination.length == 0 { return "default" }
        if Int(route.destination.length) == route.destination.address.bitWidth { return route.destination.address.description }
        return route.destination.description
    }

    static func protocolName(_ proto: RouteProtocol) -> String { proto.description }

    /// `ip -j route`: type (when not unicast), dst, gateway, dev, table (when not main),
    /// protocol, scope (when not global), prefsrc, metric, flags.
    static func json(_ r: Route, _ names: LinkNames, dev: Bool = true) -> JSON {
        var o = JSONObject()
        if r.type != .unicast { o.add("type", r.type.description) }
        o.add("dst", destination(r))
        o.add("nhid", r.nexthopID)
        o.add("gateway", r.gateway?.description)
        if dev { o.add("dev", names[r.outputIndex]) }
        if r.table != .main { o.add("table", r.table.description) }
        o.add("protocol", protocolName(r.protocolID))
        if r.scope != .universe { o.add("scope", r.scope.description) }
        o.add("prefsrc", r.preferredSource?.description)
        o.add("metric", r.priority)
        o.add("flags", strings: flagNames(r.flags, RouteFlags.names))
        return o.json
    }

    /// `10.244.1.0/24 via 10.244.1.0 dev weft0 proto 87 onlink`
    static func text(_ r: Route, _ names: LinkNames, dev: Bool = true) -> String {
        var parts: [String] = []
        if r.type != .unicast { parts.append(r.type.description) }
        parts.append(destination(r))
        if let id = r.nexthopID { parts.append("nhid \(id)") }
        if let gateway = r.gateway { parts.append("via \(gateway)") }
        if dev, let name = names[r.outputIndex] { parts.append("dev \(name)") }
        if r.table != .main { parts.append("table \(r.table)") }
        if r.protocolID != .boot { parts.append("proto \(protocolName(r.protocolID))") }
        if r.scope != .universe { parts.append("scope \(r.scope)") }
        if let src = r.preferredSource { parts.append("src \(src)") }
        if let metric = r.priority { parts.append("metric \(metric)") }
        parts += flagNames(r.flags, RouteFlags.names)
        return parts.joined(separator: " ")
    }
}
