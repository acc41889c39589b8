import Netlink

/// How Weft recognises its own kernel objects, so that adoption after a restart and
/// garbage collection touch Weft's objects and nothing else.
///
/// | object | marked by |
/// |---|---|
/// | overlay device | its name (`node.device`, default `weft0`) and kind vxlan |
/// | neighbour | on the overlay device, NUD_PERMANENT, NDA_PROTOCOL 0x57 |
/// | FDB entry | on the overlay device, NTF_SELF, with a remote (NDA_DST) |
/// | nexthop | id in 0x57000000–0x57ffffff and protocol 0x57 |
/// | route | protocol 0x57 |
public enum Ownership {
    /// 0x57 = 87 ('W'); unassigned in iproute2's rt_protos.
    public static let protocolNumber: UInt8 = 0x57
    public static let routeProtocol = RouteProtocol(rawValue: protocolNumber)
    public static let nexthopIDBase: UInt32 = 0x5700_0000

    /// One nexthop per peer, named by the peer's node index.
    public static func nexthopID(peerIndex: UInt32) -> UInt32 { nexthopIDBase | (peerIndex & 0x00ff_ffff) }

    public static func isWeft(_ nexthop: Nexthop) -> Bool {
        nexthop.id & 0xff00_0000 == nexthopIDBase && nexthop.protocolID == routeProtocol
    }
}
