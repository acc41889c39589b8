/// VXLAN device parameters (`IFLA_VXLAN_*`), like `ip link add NAME type vxlan ...`.
public struct VXLAN: Hashable, Sendable {
    public var vni: UInt32
    public var local: IPAddress?
    /// Multicast group or unicast remote; Weft leaves it unset and programs the FDB instead.
    public var group: IPAddress?
    /// Underlay device index (`dev`).
    public var underlayIndex: Int32?
    /// UDP destination port; the kernel's default is 8472, IANA's is 4789.
    public var port: UInt16?
    public var learning: Bool?
    public var ttl: UInt8?
    public var tos: UInt8?
    public var ageing: UInt32?
    public var udpChecksum: Bool?
    public var portRange: ClosedRange<UInt16>?
    public var l2miss: Bool?
    public var l3miss: Bool?
    public var proxy: Bool?
    public var collectMetadata: Bool?

    public init(vni: UInt32, local: IPAddress? = nil, port: UInt16? = nil, learning: Bool? = nil) {
        self.vni = vni
        self.local = local
        self.port = port
        self.learning = learning
    }

    enum Attr {
        static let id: UInt16 = 1, group: UInt16 = 2, link: UInt16 = 3, local: UInt16 = 4
        static let ttl: UInt16 = 5, tos: UInt16 = 6, learning: UInt16 = 7, ageing: UInt16 = 8
        static let portRange: UInt16 = 10, proxy: UInt16 = 11, l2miss: UInt16 = 13, l3miss: UInt16 = 14
        static let port: UInt16 = 15, group6: UInt16 = 16, local6: UInt16 = 17, udpChecksum: UInt16 = 18
        static let collectMetadata: UInt16 = 25
    }

    func encode(into a: inout AttributeWriter) {
        a.u32(Attr.id, vni)
        if let group { a.bytes(group.family == .inet ? Attr.group : Attr.group6, group.bytes) }
        if let local { a.bytes(local.family == .inet ? Attr.local : Attr.local6, local.bytes) }
        if let underlayIndex { a.u32(Attr.link, UInt32(bitPattern: underlayIndex)) }
        if let ttl { a.u8(Attr.ttl, ttl) }
        if let tos { a.u8(Attr.tos, tos) }
        if let learning { a.u8(Attr.learning, learning ? 1 : 0) }
        if let ageing { a.u32(Attr.ageing, ageing) }
        if let proxy { a.u8(Attr.proxy, proxy ? 1 : 0) }
        if let l2miss { a.u8(Attr.l2miss, l2miss ? 1 : 0) }
        if let l3miss { a.u8(Attr.l3miss, l3miss ? 1 : 0) }
        if let udpChecksum { a.u8(Attr.udpChecksum, udpChecksum ? 1 : 0) }
        if let port { a.be16(Attr.port, port) }
        if let collectMetadata { a.u8(Attr.collectMetadata, collectMetadata ? 1 : 0) }
    }

    init(decoding data: AttributeSet?) throws(WireError) {
        guard let data, let id = data[Attr.id] else { throw WireError("IFLA_INFO_DATA (vxlan)", "no IFLA_VXLAN_ID") }
        vni = try id.u32("IFLA_VXLAN_ID")
        for attribute in data.all {
            let flag = { (name: String) throws(WireError) -> Bool in try attribute.u8(name) != 0 }
            switch attribute.type {
            case Attr.group, Attr.group6: group = try Self.address(attribute, "IFLA_VXLAN_GROUP")
            case Attr.local, Attr.local6: local = try Self.address(attribute, "IFLA_VXLAN_LOCAL")
            case Attr.link: underlayIndex = Int32(bitPattern: try attribute.u32("IFLA_VXLAN_LINK"))
            case Attr.ttl: ttl = try attribute.u8("IFLA_VXLAN_TTL")
            case Attr.tos: tos = try attribute.u8("IFLA_VXLAN_TOS")
            case Attr.learning: learning = try flag("IFLA_VXLAN_LEARNING")
            case Attr.ageing: ageing = try attribute.u32("IFLA_VXLAN_AGEING")
            case Attr.proxy: proxy = try flag("IFLA_VXLAN_PROXY")
            case Attr.l2miss: l2miss = try flag("IFLA_VXLAN_L2MISS")
            case Attr.l3miss: l3miss = try flag("IFLA_VXLAN_L3MISS")
            case Attr.udpChecksum: udpChecksum = try flag("IFLA_VXLAN_UDP_CSUM")
            case Attr.collectMetadata: collectMetadata = try flag("IFLA_VXLAN_COLLECT_METADATA")
            case Attr.port: port = try attribute.be16("IFLA_VXLAN_PORT")
            case Attr.portRange:
                let reader = attribute.reader("IFLA_VXLAN_PORT_RANGE")
                let low = try reader.be16(0), high = try reader.be16(2)
                if low <= high { portRange = low...high }
            default: break
            }
        }
    }

    private static func address(_ attribute: Attribute, _ context: String) throws(WireError) -> IPAddress? {
        // An unset group is reported as 0.0.0.0 by some kernels; keep it as "none".
        guard let address = IPAddress(bytes: attribute.payload) else {
            throw WireError(context, "address of \(attribute.payload.count) bytes")
        }
        if address == .v4(0) || address == .v6(0, 0) { return nil }
        return address
    }
}
