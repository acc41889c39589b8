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
/// sorted by key (`KeyedDiff`), so the same input always gives the same plan.
public func diff(desired: OverlayObjects, observed: OverlayObjects) -> [ObjectChange] {
    var plan = OverlayPlan()
    plan.reserve(desired.addresses.count + desired.neighbours.count + desired.fdb.count + desired.nexthops.count + desired.routes.count)
    plan.add(desired.addresses, observed.addresses, order: prefixOrder, add: { p, _ in .addAddress(p) }, delete: { p, _ in .deleteAddress(p) })
    plan.add(desired.neighbours, observed.neighbours, order: <, add: ObjectChange.addNeighbour, replace: ObjectChange.replaceNeighbour,
             delete: ObjectChange.deleteNeighbour)
    plan.add(desired.fdb, observed.fdb, order: <, add: { remote, _ in .addFDB(remote) }, delete: { remote, _ in .deleteFDB(remote) })
    plan.add(desired.nexthops, observed.nexthops, order: <, add: ObjectChange.addNexthop, replace: ObjectChange.replaceNexthop,
             delete: ObjectChange.deleteNexthop)
    plan.add(desired.routes, observed.routes, order: prefixOrder, add: ObjectChange.addRoute, replace: ObjectChange.replaceRoute,
             delete: ObjectChange.deleteRoute)
    return plan.changes
}

/// The overlay plan built kind by kind in dependency order: each kind's additions and
/// replacements appended as its diff is walked, its removals kept aside and put at the end
/// in reverse kind order. One kind's diff is alive at a time, and no edit list is held.
struct OverlayPlan {
    private var upserts: [ObjectChange] = []
    private var deletes: [[ObjectChange]] = []

    mutating func reserve(_ count: Int) { upserts.reserveCapacity(count) }

    var changes: [ObjectChange] { deletes.reversed().reduce(into: upserts) { $0 += $1 } }

    mutating func add<Key: Hashable, Value: Equatable>(_ desired: [Key: Value], _ observed: [Key: Value], order: (Key, Key) -> Bool,
                                                      add: (Key, Value) -> ObjectChange, replace: (Key, Value) -> ObjectChange,
                                                      delete: (Key, Value) -> ObjectChange) {
        walk(desired.sorted { order($0.key, $1.key) }.lazy.map { (key: $0.key, value: $0.value) }, observed,
             isDesired: { desired[$0] != nil }, order: order, add: add, replace: replace, delete: delete)
    }

    mutating func add<Key: Hashable>(_ desired: Set<Key>, _ observed: Set<Key>, order: (Key, Key) -> Bool,
                                     add: (Key, Bool) -> ObjectChange, delete: (Key, Bool) -> ObjectChange) {
        walk(desired.sorted(by: order).lazy.map { (key: $0, value: true) }, Dictionary(uniqueKeysWithValues: observed.lazy.map { ($0, true) }),
             isDesired: desired.contains, order: order, add: add, replace: { _, _ in nil }, delete: delete)
    }

    private mutating func walk<Key: Hashable, Value: Equatable>(_ desired: some Sequence<(key: Key, value: Value)>, _ observed: [Key: Value],
                                                                isDesired: @escaping (Key) -> Bool, order: (Key, Key) -> Bool, add: (Key, Value) -> ObjectChange,
                                                                replace: (Key, Value) -> ObjectChange?, delete: (Key, Value) -> ObjectChange) {
        var removals: [ObjectChange] = []
        KeyedDiff.walk(desired: desired, observed: observed, same: ==, deleteOrder: order, isDesired: isDesired, upsert: { edit in
            switch edit {
            case .add(let key, let value): upserts.append(add(key, value))
            case .update(let key, _, let value): if let change = replace(key, value) { upserts.append(change) }
            case .delete: break
            }
        }, delete: { edit in
            if case .delete(let key, let value) = edit { removals.append(delete(key, value)) }
        })
        deletes.append(removals)
    }
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
