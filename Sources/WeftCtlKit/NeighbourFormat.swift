import Netlink

enum NeighbourFormat {
    static func states(_ state: NeighbourState) -> [String] {
        let names = flagNames(state, NeighbourState.names)
        return names.isEmpty ? ["NONE"] : names
    }

    /// `ip -j neigh`: `{"dst":…,"dev":…,"lladdr":…,"state":["PERMANENT"]}`
    static func json(_ n: Neighbour, _ names: LinkNames, dev: Bool = true) -> JSON {
        var o = JSONObject()
        o.add("dst", n.destination.description)
        if dev { o.add("dev", names[n.index]) }
        o.add("lladdr", n.linkLayerAddress?.description)
        if n.flags.contains(.router) { o.add("router", JSON.null) }
        o.add("protocol", n.protocolID.map { "\($0)" })
        o.add("state", strings: states(n.state))
        return o.json
    }

    /// `10.244.1.0 dev weft0 lladdr 02:57:46:00:00:02 PERMANENT`
    static func text(_ n: Neighbour, _ names: LinkNames, dev: Bool = true) -> String {
        var line = n.destination.description
        if dev { line += " dev \(names[n.index] ?? "?")" }
        if let lladdr = n.linkLayerAddress { line += " lladdr \(lladdr)" }
        if n.flags.contains(.router) { line += " router" }
        if let proto = n.protocolID { line += " proto \(proto)" }
        return line + " " + states(n.state).joined(separator: " ")
    }

    /// `bridge fdb` state word: permanent, static, stale, or nothing.
    static func fdbState(_ state: NeighbourState) -> String? {
        if state.contains(.permanent) { return "permanent" }
        if state.contains(.noARP) { return "static" }
        if state.contains(.stale) { return "stale" }
        return nil
    }

    /// `bridge -j fdb`: `{"mac":…,"ifname":…,"dst":…,"flags":["self"],"state":"permanent"}`
    static func json(_ e: FDBEntry, _ names: LinkNames, dev: Bool = true) -> JSON {
        var o = JSONObject()
        o.add("mac", e.mac.description)
        if dev { o.add("ifname", names[e.index]) }
        o.add("master", names[e.master])
        o.add("vlan", e.vlan)
        o.add("dst", e.destination?.description)
        o.add("port", e.port)
        o.add("vni", e.vni)
        o.add("via", names[e.viaIndex])
        o.add("flags", strings: flagNames(e.flags, NeighbourFlags.names))
        o.add("state", fdbState(e.state) ?? "")
        return o.json
    }

    /// `02:57:46:00:00:02 dev weft0 dst 192.0.2.2 self permanent`
    static func text(_ e: FDBEntry, _ names: LinkNames, dev: Bool = true) -> String {
        var parts = [e.mac.description]
        if dev { parts.append("dev \(names[e.index] ?? "?")") }
        if let master = names[e.master] { parts.append("master \(master)") }
        if let vlan = e.vlan { parts.append("vlan \(vlan)") }
        if let dst = e.destination { parts.append("dst \(dst)") }
        if let port = e.port { parts.append("port \(port)") }
        if let vni = e.vni { parts.append("vni \(vni)") }
        if let via = names[e.viaIndex] { parts.append("via \(via)") }
        parts += flagNames(e.flags, NeighbourFlags.names)
        if let state = fdbState(e.state) { parts.append(state) }
        return parts.joined(separator: " ")
    }
}
