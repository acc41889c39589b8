/// Netlink multicast groups (`RTNLGRP_*` for rtnetlink, `XFRMNLGRP_*` for xfrm).
public struct MulticastGroup: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public var name: String
    public init(rawValue: UInt32) { self.init(rawValue, "group \(rawValue)") }
    init(_ rawValue: UInt32, _ name: String) {
        self.rawValue = rawValue
        self.name = name
    }

    public static let link = MulticastGroup(1, "RTNLGRP_LINK")
    public static let neighbour = MulticastGroup(3, "RTNLGRP_NEIGH")
    public static let ipv4Address = MulticastGroup(5, "RTNLGRP_IPV4_IFADDR")
    public static let ipv4Route = MulticastGroup(7, "RTNLGRP_IPV4_ROUTE")
    public static let ipv6Address = MulticastGroup(9, "RTNLGRP_IPV6_IFADDR")
    public static let ipv6Route = MulticastGroup(11, "RTNLGRP_IPV6_ROUTE")
    public static let nexthop = MulticastGroup(32, "RTNLGRP_NEXTHOP")

    public static let xfrmAcquire = MulticastGroup(1, "XFRMNLGRP_ACQUIRE")
    public static let xfrmExpire = MulticastGroup(2, "XFRMNLGRP_EXPIRE")
    public static let xfrmSA = MulticastGroup(3, "XFRMNLGRP_SA")
    public static let xfrmPolicy = MulticastGroup(4, "XFRMNLGRP_POLICY")

    public var description: String { name }
}
