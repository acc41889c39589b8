/// The `IFLA_LINKINFO` part of a link: its kind and kind-specific data.
public enum LinkKind: Hashable, Sendable {
    case vxlan(VXLAN)
    case veth(Veth)
    case bridge(Bridge)
    /// A kind Weft does not model; only its name is kept.
    case other(String)

    public var name: String {
        switch self {
        case .vxlan: "vxlan"
        case .veth: "veth"
        case .bridge: "bridge"
        case .other(let name): name
        }
    }

    func encodeData(into a: inout AttributeWriter) {
        switch self {
        case .vxlan(let vxlan): a.nested(LinkInfoAttr.data) { vxlan.encode(into: &$0) }
        case .veth(let veth): a.nested(LinkInfoAttr.data) { veth.encode(into: &$0) }
        case .bridge(let bridge): if !bridge.isEmpty { a.nested(LinkInfoAttr.data) { bridge.encode(into: &$0) } }
        case .other: break
        }
    }

    /// IFLA_INFO_KIND without a trailing NUL, as iproute2 sends it (the kernel accepts both).
    func encodeKind(into a: inout AttributeWriter) { a.bytes(LinkInfoAttr.kind, Array(name.utf8)) }

    init?(decoding info: AttributeSet) throws(WireError) {
        guard let kindName = info[LinkInfoAttr.kind]?.string else { return nil }
        let data = try info[LinkInfoAttr.data]?.nested("IFLA_INFO_DATA (\(kindName))")
        switch kindName {
        case "vxlan": self = .vxlan(try VXLAN(decoding: data))
        case "veth": self = .veth(Veth())
        case "bridge": self = .bridge(try Bridge(decoding: data))
        default: self = .other(kindName)
        }
    }
}

/// A veth pair as created from one end. The peer is named on creation; a dump shows each
/// end as its own link whose `parentIndex` is the other end.
public struct Veth: Hashable, Sendable {
    public var peerName: String?
    /// Create the peer end directly in the namespace behind this fd.
    public var peerNamespaceFD: Int32?

    public init(peerName: String? = nil, peerNamespaceFD: Int32? = nil) {
        self.peerName = peerName
        self.peerNamespaceFD = peerNamespaceFD
    }

    static let infoPeer: UInt16 = 1  // VETH_INFO_PEER

    func encode(into a: inout AttributeWriter) {
        guard peerName != nil || peerNamespaceFD != nil else { return }
        // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's IFLA_* attributes.
        a.nested(Self.infoPeer) { peer in
            peer.raw { LinkHeader().encode(into: &$0) }
            if let peerName { peer.string(LinkAttr.name, peerName) }
            if let peerNamespaceFD { peer.i32(LinkAttr.netnsFD, peerNamespaceFD) }
        }
    }
}

/// A Linux bridge. Only what Weft's tests and the demo set is modelled.
public struct Bridge: Hashable, Sendable {
    public var stpEnabled: Bool?
    public var vlanFiltering: Bool?

    public init(stpEnabled: Bool? = nil, vlanFiltering: Bool? = nil) {
        self.stpEnabled = stpEnabled
        self.vlanFiltering = vlanFiltering
    }

    var isEmpty: Bool { stpEnabled == nil && vlanFiltering == nil }

    static let stpState: UInt16 = 5, vlanFilteringAttr: UInt16 = 7  // IFLA_BR_*

    func encode(into a: inout AttributeWriter) {
        if let stpEnabled { a.u32(Self.stpState, stpEnabled ? 1 : 0) }
        if let vlanFiltering { a.u8(Self.vlanFilteringAttr, vlanFiltering ? 1 : 0) }
    }

    init(decoding data: AttributeSet?) throws(WireError) {
        guard let data else { return }
        if let stp = data[Self.stpState] { stpEnabled = try stp.u32("IFLA_BR_STP_STATE") != 0 }
        if let filtering = data[Self.vlanFilteringAttr] { vlanFiltering = try filtering.u8("IFLA_BR_VLAN_FILTERING") != 0 }
    }
}
