import Netlink
import WeftModel

/// The overlay device as Weft wants it.
public struct OverlayDevice: Hashable, Sendable {
    public var name: String
    public var vni: UInt32
    public var local: IPAddress
    public var port: UInt16
    public var mac: MACAddress
    public var mtu: UInt32
    /// The uplink's ifindex (VXLAN `dev`); nil when the uplink is not resolved (dry runs).
    public var underlayIndex: Int32?

    /// Fields the kernel cannot change on a live VXLAN device: a difference means recreate.
    func immutableDifference(from link: Link) -> String? {
        guard case .vxlan(let vxlan)? = link.kind else { return "it is a \(link.kind?.name ?? "plain") device, not vxlan" }
        if vxlan.vni != vni { return "VNI \(vxlan.vni) → \(vni)" }
        if vxlan.local != local { return "local \(vxlan.local.map { "\($0)" } ?? "none") → \(local)" }
        if (vxlan.port ?? 8472) != port { return "port \(vxlan.port ?? 8472) → \(port)" }
        if vxlan.learning != false { return "learning on → off" }
        if let underlayIndex, vxlan.underlayIndex != underlayIndex {
            return "underlay device \(vxlan.underlayIndex.map { "\($0)" } ?? "none") → \(underlayIndex)"
        }
        return nil
    }

    var link: Link {
        var vxlan = VXLAN(vni: vni, local: local, port: port, learning: false)
        vxlan.underlayIndex = underlayIndex
        var link = Link(name: name, kind: .vxlan(vxlan))
        link.address = mac
        link.mtu = mtu
        link.flags = .up
        return link
    }
}

/// The overlay objects hanging off the device, in the normalised shape the diff compares:
/// desired and observed state both become one of these.
public struct OverlayObjects: Hashable, Sendable {
    /// Addresses on the overlay device.
    public var addresses: Set<IPPrefix> = []
    /// Peer VTEP address → VTEP MAC (permanent neighbours).
    public var neighbours: [IPAddress: MACAddress] = [:]
    /// VTEP MAC → peer underlay address (FDB remotes).
    public var fdb: Set<FDBRemote> = []
    /// Nexthop id → onlink gateway (the peer's VTEP address).
    public var nexthops: [UInt32: IPAddress] = [:]
    /// Pod CIDR → nexthop id.
    public var routes: [IPPrefix: UInt32] = [:]

    public init() {}

    public var count: Int { addresses.count + neighbours.count + fdb.count + nexthops.count + routes.count }
}

public struct FDBRemote: Hashable, Sendable, Comparable {
    public var mac: MACAddress
    public var remote: IPAddress

    public static func < (a: FDBRemote, b: FDBRemote) -> Bool { (a.mac, a.remote) < (b.mac, b.remote) }
}

/// What a desired-state document asks of the kernel.
public struct DesiredDatapath: Hashable, Sendable {
    public var device: OverlayDevice
    public var objects: OverlayObjects

    /// Parses every address in the document; the first bad one is named by its field.
    public init(_ state: DesiredNodeState, underlayIndex: Int32? = nil) throws {
        let node = state.node
        device = OverlayDevice(
            name: node.device, vni: state.cluster.vni, local: try parse(node.underlay, "node.underlay", IPAddress.init),
            port: state.cluster.port, mac: try parse(node.vtepMAC, "node.vtepMAC", MACAddress.init),
            mtu: node.mtu, underlayIndex: underlayIndex)
        objects = OverlayObjects()
        objects.addresses = [IPPrefix(try parse(node.vtepAddress, "node.vtepAddress", IPAddress.init), 32)]
        _ = try parse(node.podCIDR, "node.podCIDR", IPPrefix.init)
        for (i, peer) in state.peers.enumerated() {
            let vtep = try parse(peer.vtepAddress, "peers[\(i)].vtepAddress", IPAddress.init)
            let mac = try parse(peer.vtepMAC, "peers[\(i)].vtepMAC", MACAddress.init)
            let underlay = try parse(peer.underlay, "peers[\(i)].underlay", IPAddress.init)
            let nexthop = Ownership.nexthopID(peerIndex: peer.index)
            objects.neighbours[vtep] = mac
            objects.fdb.insert(FDBRemote(mac: mac, remote: underlay))
            objects.nexthops[nexthop] = vtep
            for (j, cidr) in peer.podCIDRs.enumerated() {
                let prefix = try parse(cidr, "peers[\(i)].podCIDRs[\(j)]", IPPrefix.init)
                if let other = objects.routes[prefix], other != nexthop {
                    throw DesiredStateError("peers[\(i)].podCIDRs[\(j)] \(cidr) is also another peer's pod CIDR")
                }
                objects.routes[prefix] = nexthop
            }
        }
    }
}

private func parse<T>(_ text: String, _ field: String, _ make: (String) -> T?) throws -> T {
    guard let value = make(text) else { throw DesiredStateError("\(field) \"\(text)\" is not a valid \(T.self)") }
    return value
}
