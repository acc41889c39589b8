import Netlink

/// Reads Weft's objects from the kernel (and only Weft's: see `Ownership`) into the
/// normalised shape the diff compares.
struct KernelState {
    let socket: NetlinkSocket

    func device(named name: String) throws -> Link? {
        try socket.dump(Link.self).first { $0.name == name }
    }

    /// Each dump is folded into the diff's shape as it is received: only the keys and
    /// values the diff compares are kept, never the dumped objects.
    func objects(on device: Int32) throws -> OverlayObjects {
        var objects = OverlayObjects()
        objects.addresses = try socket.dump(Address.self, family: .inet, into: []) { addresses, address in
            if address.index == device { addresses.insert(address.local) }
        }
        objects.neighbours = try socket.dump(Neighbour.self, family: .inet, into: [:]) { neighbours, n in
            if Ownership.isWeft(n, on: device), let mac = n.linkLayerAddress { neighbours[n.destination] = mac }
        }
        objects.fdb = try socket.dump(FDBEntry.self, into: []) { fdb, entry in
            if Ownership.isWeft(entry, on: device), let remote = entry.destination { fdb.insert(FDBRemote(mac: entry.mac, remote: remote)) }
        }
        objects.nexthops = try socket.dump(Nexthop.self, into: [:]) { nexthops, nexthop in
            if Ownership.isWeft(nexthop), let gateway = nexthop.gateway { nexthops[nexthop.id] = gateway }
        }
        objects.routes = try socket.dump(Route.self, family: .inet, into: [:]) { routes, route in
            if Ownership.isWeft(route), let id = route.nexthopID { routes[route.destination] = id }
        }
        return objects
    }
}

extension ObjectChange {
    /// The one netlink request that makes this change on device `index`.
    func request(device index: Int32) -> Request {
        switch self {
        case .addAddress(let p): return Address(index: index, local: p).request(.add)
        case .deleteAddress(let p): return Address(index: index, local: p).request(.delete)
        case .addNeighbour(let ip, let mac): return neighbour(index, ip, mac).request(.add)
        case .replaceNeighbour(let ip, let mac): return neighbour(index, ip, mac).request(.replace)
        case .deleteNeighbour(let ip, let mac): return neighbour(index, ip, mac).request(.delete)
        case .addFDB(let f): return FDBEntry(index: index, mac: f.mac, destination: f.remote).request(.append)
        case .deleteFDB(let f): return FDBEntry(index: index, mac: f.mac, destination: f.remote).request(.delete)
        case .addNexthop(let id, let gw): return nexthop(index, id, gw).request(.add)
        case .replaceNexthop(let id, let gw): return nexthop(index, id, gw).request(.replace)
        case .deleteNexthop(let id, let gw): return nexthop(index, id, gw).request(.delete)
        case .addRoute(let p, let id): return route(p, id).request(.add)
        case .replaceRoute(let p, let id): return route(p, id).request(.replace)
        case .deleteRoute(let p, let id): return route(p, id).request(.delete)
        }
    }

    private func neighbour(_ index: Int32, _ ip: IPAddress, _ mac: MACAddress) -> Neighbour {
        var n = Neighbour(index: index, destination: ip, linkLayerAddress: mac)
        n.protocolID = Ownership.routeProtocol
        return n
    }

    private func nexthop(_ index: Int32, _ id: UInt32, _ gateway: IPAddress) -> Nexthop {
        var n = Nexthop(id: id, gateway: gateway, outputIndex: index, flags: .onLink)
        n.protocolID = Ownership.routeProtocol
        return n
    }

    private func route(_ prefix: IPPrefix, _ id: UInt32) -> Route {
        var r = Route(destination: prefix)
        r.nexthopID = id
        r.protocolID = Ownership.routeProtocol
        return r
    }
}
