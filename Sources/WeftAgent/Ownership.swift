import Netlink

/// How Weft recognises its own kernel objects, so that adoption after a restart and
/// garbage collection touch Weft's objects and nothing else. Every mark Weft sets and
/// every test of "is this Weft's?" is here.
///
/// | object | marked by |
/// |---|---|
/// | overlay device | its name (`node.device`, default `weft0`) and kind vxlan |
/// | address | on the overlay device |
/// | neighbour | on the overlay device, NUD_PERMANENT, NDA_PROTOCOL 0x57 |
/// | FDB entry | on the overlay device, NTF_SELF, with a remote (NDA_DST) |
/// | nexthop | id in 0x57000000–0x57ffffff and protocol 0x57 |
/// | route | protocol 0x57, table main, via a nexthop id |
/// | XFRM state | reqid in 0x57000000–0x57ffffff (0x57000000 + peer index) |
/// | XFRM policy | a template with such a reqid; priority 0x5700 |
/// | SA output mark | 0x57000000 + peer index under mask 0xff000000 (what the filters read) |
/// | tc filter | clsact ingress or egress, handle 0x5746 priority 0x5746 ("WF"), a program named as Weft's (`TrustProgram`) |
/// | BPF maps | pinned under `/sys/fs/bpf/weft` (`--pin-root`), names `weft_*` |
/// | pod veth (node end) | name `weft` + 11 hex digits of the attachment's hash (`PodInterfaces.hostName`) |
/// | pod route, pod neighbour | on a pod veth; the route protocol 0x57, scope link, no nexthop |
///
/// SPIs are not a mark: the controller allocates them (`WeftPlanner.Keying`), and an SA is
/// recognised by its reqid.
public enum Ownership {
    /// 0x57 = 87 ('W'); unassigned in iproute2's rt_protos.
    public static let protocolNumber: UInt8 = 0x57
    public static let routeProtocol = RouteProtocol(rawValue: protocolNumber)
    /// The top byte of every id-like mark (nexthop ids, reqids, SA marks).
    static let tagMask: UInt32 = 0xff00_0000
    public static let nexthopIDBase: UInt32 = 0x5700_0000
    public static let reqidBase: UInt32 = 0x5700_0000
    public static let markTag: UInt32 = 0x5700_0000
    public static let markMask: UInt32 = tagMask
    public static let xfrmPolicyPriority: UInt32 = 0x5700
    public static let bpfPinRoot = "/sys/fs/bpf/weft"

    /// One nexthop per peer, named by the peer's node index.
    public static func nexthopID(peerIndex: UInt32) -> UInt32 { nexthopIDBase | (peerIndex & 0x00ff_ffff) }
    /// One reqid per peer for its SAs and policies.
    public static func reqid(peerIndex: UInt32) -> UInt32 { reqidBase | (peerIndex & 0x00ff_ffff) }
    /// The output mark of a peer's inbound SA: the filters read the sender from it.
    public static func mark(peerIndex: UInt32) -> XfrmMark { XfrmMark(value: markTag | (peerIndex & 0xffff)) }

    /// The node ends of pods' veths: `weft` and 11 lowercase hex digits (15 bytes, IFNAMSIZ - 1).
    public static let podInterfacePrefix = "weft"

    public static func isPodInterface(_ name: String) -> Bool {
        let hex = name.utf8.dropFirst(podInterfacePrefix.utf8.count)
        return name.hasPrefix(podInterfacePrefix) && hex.count == 11
            && hex.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    public static func isWeft(_ nexthop: Nexthop) -> Bool {
        nexthop.id & tagMask == nexthopIDBase && nexthop.protocolID == routeProtocol
    }

    public static func isWeft(reqid: UInt32) -> Bool { reqid & tagMask == reqidBase }

    static func isWeft(_ neighbour: Neighbour, on device: Int32) -> Bool {
        neighbour.index == device && neighbour.state.contains(.permanent) && neighbour.protocolID == routeProtocol
    }

    static func isWeft(_ entry: FDBEntry, on device: Int32) -> Bool {
        entry.index == device && entry.flags.contains(.self) && entry.destination != nil
    }

    static func isWeft(_ route: Route) -> Bool {
        route.protocolID == routeProtocol && route.table == .main && route.nexthopID != nil
    }

    // tc filters.

    /// Weft's tc filters sit at a handle and priority of their own on each hook: an
    /// operator's filter elsewhere on the hook is never replaced or deleted, and one at
    /// Weft's place that is not Weft's program is refused, not replaced.
    public static let tcHandle: UInt32 = 0x5746
    public static let tcPriority: UInt32 = 0x5746
    /// Where agents before 2026-12 attached (tc's first handle and priority, also what an
    /// operator would pick): Weft's programs found there are moved to Weft's place.
    public static let legacyTC = (handle: UInt32(1), priority: UInt32(1))

    /// Weft's programs, by their function names in bpf/*.c.
    public static let programs = TrustProgram.all.map(\.function)

    /// Whether a program's kernel name (the function name cut to BPF_OBJ_NAME_LEN - 1 = 15
    /// bytes) is one of Weft's.
    public static func isWeftProgram(kernelName name: String) -> Bool {
        programs.contains { String($0.utf8.prefix(15))! == name }
    }
}
