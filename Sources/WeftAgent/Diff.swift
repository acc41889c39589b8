import Netlink

/// A change to the overlay device itself.
public enum DeviceChange: Hashable, Sendable, CustomStringConvertible {
    case create(OverlayDevice)
    /// A field that cannot change in place differs: delete and create again (all objects on
    /// the device go with it and are re-added).
    case recreate(OverlayDevice, reason: String)
    /// MTU, MAC or up/down differ: changed in place.
    case update(OverlayDevice, reason: String)

    public var change: Change {
        switch self {
        case .create(let d): Change(.create, .device, d.name, detail: "vni \(d.vni) local \(d.local) port \(d.port)")
        case .recreate(let d, let reason): Change(.recreate, .device, d.name, reason: reason)
        case .update(let d, let reason): Change(.update, .device, d.name, reason: reason)
        }
    }

    public var description: String { change.description }
}

/// One change to an object on the overlay device.
public enum ObjectChange: Hashable, Sendable, CustomStringConvertible {
    case addAddress(IPPrefix), deleteAddress(IPPrefix)
    case addNeighbour(IPAddress, MACAddress), replaceNeighbour(IPAddress, MACAddress), deleteNeighbour(IPAddress, MACAddress)
    case addFDB(FDBRemote), deleteFDB(FDBRemote)
    case addNexthop(UInt32, IPAddress), replaceNexthop(UInt32, IPAddress), deleteNexthop(UInt32, IPAddress)
    case addRoute(IPPrefix, UInt32), replaceRoute(IPPrefix, UInt32), deleteRoute(IPPrefix, UInt32)

    /// The change as a value: verb, kind, key, detail.
    public var change: Change {
        let nh = Self.hexID
        switch self {
        case .addAddress(let p): return Change(.add, .address, "\(p)")
        case .deleteAddress(let p): return Change(.delete, .address, "\(p)")
        case .addNeighbour(let ip, let mac): return Change(.add, .neighbour, "\(ip)", detail: "lladdr \(mac)")
        case .replaceNeighbour(let ip, let mac): return Change(.replace, .neighbour, "\(ip)", detail: "lladdr \(mac)")
        case .deleteNeighbour(let ip, let mac): return Change(.delete, .neighbour, "\(ip)", detail: "lladdr \(mac)")
        case .addFDB(let f): return Change(.add, .fdb, "\(f.mac)", detail: "dst \(f.remote)")
        case .deleteFDB(let f): return Change(.delete, .fdb, "\(f.mac)", detail: "dst \(f.remote)")
        case .addNexthop(let id, let gw): return Change(.add, .nexthop, "id \(nh(id))", detail: "via \(gw) onlink")
        case .replaceNexthop(let id, let gw): return Change(.replace, .nexthop, "id \(nh(id))", detail: "via \(gw) onlink")
        case .deleteNexthop(let id, let gw): return Change(.delete, .nexthop, "id \(nh(id))", detail: "via \(gw)")
        case .addRoute(let p, let id): return Change(.add, .route, "\(p)", detail: "nhid \(nh(id))")
        case .replaceRoute(let p, let id): return Change(.replace, .route, "\(p)", detail: "nhid \(nh(id))")
        case .deleteRoute(let p, let id): return Change(.delete, .route, "\(p)", detail: "nhid \(nh(id))")
        }
    }

    public var description: String { change.description }
}

extension ObjectChange {
    static func hexID(_ id: UInt32) -> String { "0x" + String(id, radix: 16) }
}

/// Whole-state comparison of the overlay objects: what must be added, replaced and removed
/// so that `observed` becomes `desired`. Pure; the order is the order to apply in:
/// additions and replacements by dependency (address, neighbour, FDB, nexthop, route), then
/// removals in reverse (route, nexthop, FDB, neighbour, address). Within a kind, changes are
/// sorted by key, so the same input always gives the same plan.
public func diff(desired: OverlayObjects, observed: OverlayObjects) -> [ObjectChange] {
    var adds: [ObjectChange] = [], deletes: [ObjectChange] = []

    adds += desired.addresses.subtracting(observed.addresses).sorted(by: prefixOrder).map { .addAddress($0) }
    for (ip, mac) in desired.neighbours.sorted(by: { $0.key < $1.key }) {
        if let current = observed.neighbours[ip] {
            if current != mac { adds.append(.replaceNeighbour(ip, mac)) }
        } else {
            adds.append(.addNeighbour(ip, mac))
        }
    }
    adds += desired.fdb.subtracting(observed.fdb).sorted().map { .addFDB($0) }
    for (id, gateway) in desired.nexthops.sorted(by: { $0.key < $1.key }) {
        if let current = observed.nexthops[id] {
            if current != gateway { adds.append(.replaceNexthop(id, gateway)) }
        } else {
            adds.append(.addNexthop(id, gateway))
        }
    }
    for (prefix, id) in desired.routes.sorted(by: { prefixOrder($0.key, $1.key) }) {
        if let current = observed.routes[prefix] {
            if current != id { adds.append(.replaceRoute(prefix, id)) }
        } else {
            adds.append(.addRoute(prefix, id))
        }
    }

    deletes += observed.routes.filter { desired.routes[$0.key] == nil }.sorted(by: { prefixOrder($0.key, $1.key) })
        .map { .deleteRoute($0.key, $0.value) }
    deletes += observed.nexthops.filter { desired.nexthops[$0.key] == nil }.sorted(by: { $0.key < $1.key })
        .map { .deleteNexthop($0.key, $0.value) }
    deletes += observed.fdb.subtracting(desired.fdb).sorted().map { .deleteFDB($0) }
    deletes += observed.neighbours.filter { desired.neighbours[$0.key] == nil }.sorted(by: { $0.key < $1.key })
        .map { .deleteNeighbour($0.key, $0.value) }
    deletes += observed.addresses.subtracting(desired.addresses).sorted(by: prefixOrder).map { .deleteAddress($0) }
    return adds + deletes
}

/// Compares the live device with the desired one; nil when nothing differs.
public func diff(desired: OverlayDevice, observed: Link?) -> DeviceChange? {
    guard let observed else { return .create(desired) }
    if let reason = desired.immutableDifference(from: observed) { return .recreate(desired, reason: reason) }
    var reasons: [String] = []
    if observed.mtu != desired.mtu { reasons.append("mtu \(observed.mtu.map { "\($0)" } ?? "?") → \(desired.mtu)") }
    if observed.address != desired.mac { reasons.append("mac \(observed.address.map { "\($0)" } ?? "?") → \(desired.mac)") }
    if !observed.isUp { reasons.append("down → up") }
    return reasons.isEmpty ? nil : .update(desired, reason: reasons.joined(separator: ", "))
}

func prefixOrder(_ a: IPPrefix, _ b: IPPrefix) -> Bool { (a.address, a.length) < (b.address, b.length) }
