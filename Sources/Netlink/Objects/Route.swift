/// `RT_SCOPE_*`.
public struct RouteScope: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let universe = RouteScope(rawValue: 0)
    public static let site = RouteScope(rawValue: 200)
    public static let link = RouteScope(rawValue: 253)
    public static let host = RouteScope(rawValue: 254)
    public static let nowhere = RouteScope(rawValue: 255)

    public var description: String {
        switch self {
        case .universe: "global"
        case .site: "site"
        case .link: "link"
        case .host: "host"
        case .nowhere: "nowhere"
        default: "\(rawValue)"
        }
    }
}

/// `RTN_*` route types.
public struct RouteType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unicast = RouteType(rawValue: 1)
    public static let local = RouteType(rawValue: 2)
    public static let broadcast = RouteType(rawValue: 3)
    public static let multicast = RouteType(rawValue: 5)
    public static let blackhole = RouteType(rawValue: 6)
    public static let unreachable = RouteType(rawValue: 7)

    public var description: String {
        let names = ["unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole",
                     "unreachable", "prohibit", "throw", "nat", "xresolve"]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "\(rawValue)"
    }
}

/// `RTPROT_*`: who installed a route. Weft installs its own routes with its own number so
/// garbage collection can tell them from everyone else's.
public struct RouteProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let unspecified = RouteProtocol(rawValue: 0)
    public static let kernel = RouteProtocol(rawValue: 2)
    public static let boot = RouteProtocol(rawValue: 3)
    public static let `static` = RouteProtocol(rawValue: 4)

    public var description: String {
        switch rawValue {
        case 0: "unspec"
        case 1: "redirect"
        case 2: "kernel"
        case 3: "boot"
        case 4: "static"
        case 16: "dhcp"
        default: "\(rawValue)"
        }
    }
}

/// `RTNH_F_*` route flags (`rtmsg.rtm_flags`).
public struct RouteFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let dead = RouteFlags(rawValue: 0x01)
    public static let pervasive = RouteFlags(rawValue: 0x02)
    public static let onLink = RouteFlags(rawValue: 0x04)
    public static let linkDown = RouteFlags(rawValue: 0x10)

    public static let names: [(RouteFlags, String)] = [
        (.dead, "dead"), (.onLink, "onlink"), (.pervasive, "pervasive"), (.linkDown, "linkdown"),
    ]
}

/// A routing table id; ids of 256 and above travel in RTA_TABLE only.
public struct RouteTable: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let unspecified = RouteTable(rawValue: 0)
    public static let `default` = RouteTable(rawValue: 253)
    public static let main = RouteTable(rawValue: 254)
    public static let local = RouteTable(rawValue: 255)

    public var description: String {
        switch self {
        case .main: "main"
        case .local: "local"
        case .default: "default"
        default: "\(rawValue)"
        }
    }
}

/// A route (`RTM_NEWROUTE`), like `ip route add 10.244.1.0/24 via 10.244.1.0 dev weft0 onlink`.
/// Identity (what the kernel matches on delete): table + destination + tos + priority.
public struct Route: NetlinkObject {
    public static let kindName = "route"
    public static let family = NetlinkFamily.route
    public static let dumpReplyTypes: Set<MessageType> = [.newRoute]

    public var destination: IPPrefix
    public var gateway: IPAddress?
    public var outputIndex: Int32?
    public var table: RouteTable = .main
    public var protocolID: RouteProtocol = .boot
    public var scope: RouteScope = .universe
    public var type: RouteType = .unicast
    public var flags: RouteFlags = []
    public var priority: UInt32?
    public var preferredSource: IPAddress?
    public var tos: UInt8 = 0
    /// RTA_NH_ID: forward through a nexthop object instead of an inline gateway/device.
    public var nexthopID: UInt32?

    public init(destination: IPPrefix, gateway: IPAddress? = nil, outputIndex: Int32? = nil) {
        self.destination = destination
        self.gateway = gateway
        self.outputIndex = outputIndex
    }

    enum Attr {
        static let destination: UInt16 = 1, inputIndex: UInt16 = 3, outputIndex: UInt16 = 4
        static let gateway: UInt16 = 5, priority: UInt16 = 6, preferredSource: UInt16 = 7
        static let table: UInt16 = 15, nexthopID: UInt16 = 30
    }

    public func request(_ operation: Operation) -> Request {
        let type: MessageType = operation == .delete ? .delRoute : .newRoute
        var message = MessageBuilder(type: type, flags: operation.newFlags.union([.request, .ack]))
        let isDelete = operation == .delete
        message.body { w in
            w.u8(destination.address.family.rawValue)
            w.u8(destination.length)
            w.u8(0)  // src_len
            w.u8(tos)
            w.u8(table.rawValue < 256 ? UInt8(table.rawValue) : 0)
            w.u8(protocolID.rawValue)  // on delete too: only a route of this protocol matches
            // On delete, scope NOWHERE and type UNSPEC are wildcards (as iproute2 sends them).
            w.u8(isDelete ? RouteScope.nowhere.rawValue : scope.rawValue)
            w.u8(isDelete ? 0 : self.type.rawValue)
            w.u32(isDelete ? 0 : flags.rawValue)
        }
        message.attributes { a in
            a.bytes(Attr.destination, destination.address.bytes)
            if let gateway { a.bytes(Attr.gateway, gateway.bytes) }
            if let priority { a.u32(Attr.priority, priority) }
            if let preferredSource { a.bytes(Attr.preferredSource, preferredSource.bytes) }
            if table.rawValue >= 256 { a.u32(Attr.table, table.rawValue) }
            if let outputIndex { a.i32(Attr.outputIndex, outputIndex) }
            if let nexthopID { a.u32(Attr.nexthopID, nexthopID) }
        }
        return Request(bytes: message.finish(), summary: "\(operation.rawValue) route \(destination) table \(table)")
    }

    public static func dumpRequest(family: AddressFamily) -> Request {
        Request.dump(.getRoute, family: family, headerSize: 12, summary: "dump routes")
    }

    public init(decoding message: Message) throws(WireError) {
        let reader = ByteReader(message.payload, context: "rtmsg")
        try reader.require(12)
        let family = AddressFamily(rawValue: try reader.u8(0))
        let length = try reader.u8(1)
        tos = try reader.u8(3)
        table = RouteTable(rawValue: UInt32(try reader.u8(4)))
        protocolID = RouteProtocol(rawValue: try reader.u8(5))
        scope = RouteScope(rawValue: try reader.u8(6))
        type = RouteType(rawValue: try reader.u8(7))
        flags = RouteFlags(rawValue: try reader.u32(8))
        let attributes = try AttributeSet(parsing: try reader.rest(from: 12), context: "route")
        let zero: IPAddress = family == .inet6 ? .v6(0, 0) : .v4(0)
        var destination = zero
        if let dst = attributes[Attr.destination] {
            guard let address = IPAddress(bytes: dst.payload) else { throw WireError("RTA_DST", "address of \(dst.payload.count) bytes") }
            destination = address
        }
        if Int(length) > destination.bitWidth { throw WireError("rtmsg", "prefix length \(length) exceeds \(destination.bitWidth)") }
        self.destination = IPPrefix(destination, length)
        for attribute in attributes.all {
            switch attribute.type {
            case Attr.gateway: gateway = IPAddress(bytes: attribute.payload)
            case Attr.outputIndex: outputIndex = try attribute.i32("RTA_OIF")
            case Attr.priority: priority = try attribute.u32("RTA_PRIORITY")
            case Attr.preferredSource: preferredSource = IPAddress(bytes: attribute.payload)
            case Attr.table: table = RouteTable(rawValue: try attribute.u32("RTA_TABLE"))
            case Attr.nexthopID: nexthopID = try attribute.u32("RTA_NH_ID")
            default: break
            }
        }
    }
}
