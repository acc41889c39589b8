/// `IFF_*` interface flags (`ifinfomsg.ifi_flags`).
public struct InterfaceFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let up = InterfaceFlags(rawValue: 0x1)
    public static let broadcast = InterfaceFlags(rawValue: 0x2)
    public static let loopback = InterfaceFlags(rawValue: 0x8)
    public static let pointToPoint = InterfaceFlags(rawValue: 0x10)
    public static let noARP = InterfaceFlags(rawValue: 0x80)
    public static let promiscuous = InterfaceFlags(rawValue: 0x100)
    public static let multicast = InterfaceFlags(rawValue: 0x1000)
    public static let lowerUp = InterfaceFlags(rawValue: 0x10000)
    public static let dormant = InterfaceFlags(rawValue: 0x20000)

    /// iproute2's names, in iproute2's print order.
    public static let names: [(InterfaceFlags, String)] = [
        (.loopback, "LOOPBACK"), (.broadcast, "BROADCAST"), (.pointToPoint, "POINTOPOINT"),
        (.multicast, "MULTICAST"), (.noARP, "NOARP"), (.promiscuous, "PROMISC"), (.up, "UP"),
        (.lowerUp, "LOWER_UP"), (.dormant, "DORMANT"),
    ]
}

/// A network interface (`RTM_NEWLINK`), like `ip link`.
///
/// Identity is the interface index once the kernel has assigned one, the name before.
/// Fields left nil are not sent on add and were absent in a dump.
public struct Link: NetlinkObject {
    public static let kindName = "link"
    public static let family = NetlinkFamily.route
    public static let dumpReplyTypes: Set<MessageType> = [.newLink]

    public var index: Int32 = 0
    public var name: String
    public var flags: InterfaceFlags = []
    /// `ifi_type` (ARPHRD_*): 1 ether, 772 loopback, 65534 none.
    public var hardwareType: UInt16 = 0
    public var mtu: UInt32?
    public var address: MACAddress?
    public var broadcast: MACAddress?
    public var master: Int32?
    /// IFLA_LINK: the lower device (a veth's peer, a VXLAN's underlay device).
    public var parentIndex: Int32?
    public var linkNetnsID: Int32?
    public var txQueueLength: UInt32?
    public var operState: OperState?
    public var group: UInt32?
    public var qdisc: String?
    public var kind: LinkKind?
    /// `IFLA_NET_NS_FD`: create the link in, or move it to, the namespace behind this fd.
    public var namespaceFD: Int32?

    public init(name: String, kind: LinkKind? = nil) {
        self.name = name
        self.kind = kind
    }

    public var isUp: Bool { flags.contains(.up) }

    public func request(_ operation: Operation) -> Request {
        switch operation {
        case .delete: deleteRequest()
        default: newLinkRequest(flags: operation.newFlags, verb: operation.rawValue)
        }
    }

    /// Changes an existing link in place (RTM_NEWLINK without NLM_F_CREATE), like `ip link set`.
    /// `change` says which `flags` bits to apply (e.g. `.up` to set or clear only UP).
    public func setRequest(change: InterfaceFlags = []) -> Request {
        var link = self
        link.kind = nil
        return link.newLinkRequest(flags: [], verb: "set", change: change)
    }

    public static func dumpRequest(family: AddressFamily) -> Request {
        var message = MessageBuilder(type: .getLink, flags: [.request, .dump])
        // AF_PACKET asks for every link, as `ip link show` does.
        message.body { LinkHeader(family: family == .unspecified ? .packet : family).encode(into: &$0) }
        // Ask for VF info to be left out, as iproute2 does: a dump stays small.
        message.attributes { $0.u32(LinkAttr.extMask, 1) }  // RTEXT_FILTER_VF
        return Request(bytes: message.finish(), summary: "dump links")
    }

    /// Looks up one link by name, like `ip link show dev NAME`.
    public static func getRequest(name: String) -> Request {
        var message = MessageBuilder(type: .getLink, flags: [.request])
        message.body { LinkHeader().encode(into: &$0) }
        message.attributes {
            $0.u32(LinkAttr.extMask, 1)
            $0.string(LinkAttr.name, name)
        }
        return Request(bytes: message.finish(), summary: "get link \(name)")
    }

    private var identity: String { index != 0 ? "\(name.isEmpty ? "ifindex" : name) (\(index))" : name }

    private func deleteRequest() -> Request {
        var message = MessageBuilder(type: .delLink, flags: [.request, .ack])
        message.body { LinkHeader(index: index).encode(into: &$0) }
        if index == 0 { message.attributes { $0.string(LinkAttr.name, name) } }
        return Request(bytes: message.finish(), summary: "delete link \(identity)")
    }

    private func newLinkRequest(flags requestFlags: MessageFlags, verb: String, change: InterfaceFlags = []) -> Request {
        var message = MessageBuilder(type: .newLink, flags: requestFlags.union([.request, .ack]))
        message.body { LinkHeader(index: index, flags: flags, change: change).encode(into: &$0) }
        message.attributes { encodeAttributes(into: &$0) }
        return Request(bytes: message.finish(), summary: "\(verb) link \(identity)")
    }

    func encodeAttributes(into a: inout AttributeWriter) {
        if let namespaceFD { a.i32(LinkAttr.netnsFD, namespaceFD) }
        if let address { a.bytes(LinkAttr.address, address.bytes) }
        if let mtu { a.u32(LinkAttr.mtu, mtu) }
        if let txQueueLength { a.u32(LinkAttr.txQueueLength, txQueueLength) }
        if let master { a.i32(LinkAttr.master, master) }
        if let parentIndex { a.i32(LinkAttr.link, parentIndex) }
        if !name.isEmpty { a.string(LinkAttr.name, name) }
        if let kind {
            a.nested(LinkAttr.linkInfo) { info in
                kind.encodeKind(into: &info)
                kind.encodeData(into: &info)
            }
        }
    }

    public init(decoding message: Message) throws(WireError) {
        let reader = ByteReader(message.payload, context: "ifinfomsg")
        let header = try LinkHeader(decoding: reader)
        let attributes = try AttributeSet(parsing: try reader.rest(from: LinkHeader.size), context: "link")
        try self.init(header: header, attributes: attributes)
    }

    init(header: LinkHeader, attributes: AttributeSet) throws(WireError) {
        name = attributes[LinkAttr.name]?.string ?? ""
        index = header.index
        flags = header.flags
        hardwareType = header.type
        for attribute in attributes.all {
            switch attribute.type {
            case LinkAttr.mtu: mtu = try attribute.u32("IFLA_MTU")
            case LinkAttr.address: address = MACAddress(bytes: attribute.payload)
            case LinkAttr.broadcast: broadcast = MACAddress(bytes: attribute.payload)
            case LinkAttr.master: master = try attribute.i32("IFLA_MASTER")
            case LinkAttr.link: parentIndex = try attribute.i32("IFLA_LINK")
            case LinkAttr.linkNetnsID: linkNetnsID = try attribute.i32("IFLA_LINK_NETNSID")
            case LinkAttr.txQueueLength: txQueueLength = try attribute.u32("IFLA_TXQLEN")
            case LinkAttr.operState: operState = OperState(rawValue: try attribute.u8("IFLA_OPERSTATE"))
            case LinkAttr.group: group = try attribute.u32("IFLA_GROUP")
            case LinkAttr.qdisc: qdisc = attribute.string
            case LinkAttr.linkInfo: kind = try LinkKind(decoding: try attribute.nested("IFLA_LINKINFO"))
            default: break
            }
        }
    }
}

/// RFC 2863 operational state (`IFLA_OPERSTATE`).
public struct OperState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unknown = OperState(rawValue: 0)
    public static let down = OperState(rawValue: 2)
    public static let up = OperState(rawValue: 6)

    public var description: String {
        let names = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "\(rawValue)"
    }
}

/// `struct ifinfomsg`: family, type, index, flags, change (16 bytes).
struct LinkHeader {
    static let size = 16
    var family: AddressFamily = .unspecified
    var type: UInt16 = 0
    var index: Int32 = 0
    var flags: InterfaceFlags = []
    var change: InterfaceFlags = []

    init(family: AddressFamily = .unspecified, index: Int32 = 0, flags: InterfaceFlags = [], change: InterfaceFlags = []) {
        self.family = family
        self.index = index
        self.flags = flags
        self.change = change
    }

    init(decoding reader: ByteReader) throws(WireError) {
        try reader.require(Self.size)
        family = AddressFamily(rawValue: try reader.u8(0))
        type = try reader.u16(2)
        index = try reader.i32(4)
        flags = InterfaceFlags(rawValue: try reader.u32(8))
        change = InterfaceFlags(rawValue: try reader.u32(12))
    }

    func encode(into w: inout ByteWriter) {
        w.u8(family.rawValue)
        w.u8(0)
        w.u16(type)
        w.i32(index)
        w.u32(flags.rawValue)
        w.u32(change.rawValue)
    }
}

/// `IFLA_*` attribute types (linux/if_link.h).
enum LinkAttr {
    static let address: UInt16 = 1, broadcast: UInt16 = 2, name: UInt16 = 3, mtu: UInt16 = 4
    static let link: UInt16 = 5, qdisc: UInt16 = 6, master: UInt16 = 10, txQueueLength: UInt16 = 13
    static let operState: UInt16 = 16, linkInfo: UInt16 = 18, group: UInt16 = 27
    static let netnsFD: UInt16 = 28, extMask: UInt16 = 29, linkNetnsID: UInt16 = 37
}

/// `IFLA_INFO_*` (inside IFLA_LINKINFO).
enum LinkInfoAttr {
    static let kind: UInt16 = 1, data: UInt16 = 2, slaveKind: UInt16 = 4
}
