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
/// | tc filter | clsact ingress, handle 0x5746 priority 0x5746 ("WF"), a program named as Weft's |
public enum Ownership {
    /// 0x57 = 87 ('W'); unassigned in iproute2's rt_protos.
    public static let protocolNumber: UInt8 = 0x57
    public static let routeProtocol = RouteProtocol(rawValue: protocolNumber)
    public static let nexthopIDBase: UInt32 = 0x5700_0000

    /// One nexthop per peer, named by the peer's node index.
    public static func nexthopID(peerIndex: UInt32) -> UInt32 { nexthopIDBase | (peerIndex & 0x00ff_ffff) }

    /// Weft's tc filters sit at a handle and priority of their own on each hook: an
    /// operator's filter elsewhere on the hook is never replaced or deleted, and one at
    /// Weft's place that is not Weft's program is refused, not replaced.
    public static let tcHandle: UInt32 = 0x5746
    public static let tcPriority: UInt32 = 0x5746
    /// Where agents before 2026-12 attached (tc's first handle and priority, also what an
    /// operator would pick): Weft's programs found there are moved to Weft's place.
    public static let legacyTC = (handle: UInt32(1), priority: UInt32(1))

    /// Weft's programs, by their function names in bpf/*.c.
    public static let programs = ["weft_uplink_ingress", "weft_overlay_ingress"]

    /// Whether a program's kernel name (the function name cut to BPF_OBJ_NAME_LEN - 1 = 15
    /// bytes) is one of Weft's.
    public static func isWeftProgram(kernelName name: String) -> Bool {
        programs.contains { String($0.utf8.prefix(15))! == name }
    }

    public static func isWeft(_ nexthop: Nexthop) -> Bool {
        nexthop.id & 0xff00_0000 == nexthopIDBase && nexthop.protocolID == routeProtocol
    }
}
