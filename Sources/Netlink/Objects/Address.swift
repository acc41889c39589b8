/// `IFA_F_*` address flags.
public struct AddressFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let secondary = AddressFlags(rawValue: 0x01)
    public static let noDAD = AddressFlags(rawValue: 0x02)
    public static let tentative = AddressFlags(rawValue: 0x40)
    public static let permanent = AddressFlags(rawValue: 0x80)
    public static let noPrefixRoute = AddressFlags(rawValue: 0x200)

    public static let names: [(AddressFlags, String)] = [
        (.secondary, "secondary"), (.noDAD, "nodad"), (.tentative, "tentative"),
        (.noPrefixRoute, "noprefixroute"),
    ]
}

/// An interface address (`RTM_NEWADDR`), like `ip addr add 192.0.2.1/24 dev eth0`.
/// Identity: interface index + local address + prefix length.
public struct Address: NetlinkObject {
    public static let kindName = "address"
    public static let family = NetlinkFamily.route
    public static let dumpReplyTypes: Set<MessageType> = [.newAddr]

    public var index: Int32
    public var local: IPPrefix
    /// IFA_ADDRESS when it differs from IFA_LOCAL (the peer of a point-to-point link).
    public var peer: IPAddress?
    public var broadcast: IPAddress?
    public var label: String?
    public var scope: RouteScope = .universe
    public var flags: AddressFlags = []

    public init(index: Int32, local: IPPrefix, scope: RouteScope = .universe, flags: AddressFlags = []) {
        self.index = index
        self.local = local
        self.scope = scope
        self.flags = flags
    }

    enum Attr {
        static let address: UInt16 = 1, local: UInt16 = 2, label: UInt16 = 3, broadcast: UInt16 = 4
        static let flags: UInt16 = 8
    }

    public func request(_ operation: Operation) -> Request {
        let type: MessageType = operation == .delete ? .delAddr : .newAddr
        var message = MessageBuilder(type: type, flags: operation.newFlags.union([.request, .ack]))
        message.body { w in
            w.u8(local.address.family.rawValue)
            w.u8(local.length)
            w.u8(UInt8(truncatingIfNeeded: flags.rawValue))
            w.u8(scope.rawValue)
            w.i32(index)
        }
        message.attributes { a in
            a.bytes(Attr.local, local.address.bytes)
            a.bytes(Attr.address, (peer ?? local.address).bytes)
            if let broadcast { a.bytes(Attr.broadcast, broadcast.bytes) }
            if let label { a.string(Attr.label, label) }
            // Flags above the first eight bits only fit in IFA_FLAGS.
            if flags.rawValue > 0xff { a.u32(Attr.flags, flags.rawValue) }
        }
        return Request(bytes: message.finish(), summary: "\(operation.rawValue) address \(local) ifindex \(index)")
    }

    public static func dumpRequest(family: AddressFamily) -> Request {
        Request.dump(.getAddr, family: family, headerSize: 8, summary: "dump addresses")
    }

    public init(decoding message: Message) throws(WireError) {
        let reader = ByteReader(message.payload, context: "ifaddrmsg")
        try reader.require(8)
        let prefixLength = try reader.u8(1)
        scope = RouteScope(rawValue: try reader.u8(3))
        index = try reader.i32(4)
        var flags = AddressFlags(rawValue: UInt32(try reader.u8(2)))
        let attributes = try AttributeSet(parsing: try reader.rest(from: 8), context: "address")
        let localBytes = attributes[Attr.local] ?? attributes[Attr.address]
        guard let localBytes, let address = IPAddress(bytes: localBytes.payload) else {
            throw WireError("address", "no IFA_LOCAL or IFA_ADDRESS of 4 or 16 bytes")
        }
        if Int(prefixLength) > address.bitWidth {
            throw WireError("ifaddrmsg", "prefix length \(prefixLength) exceeds \(address.bitWidth)")
        }
        local = IPPrefix(address, prefixLength)
        if let peerAttr = attributes[Attr.address], let peer = IPAddress(bytes: peerAttr.payload), peer != address {
            self.peer = peer
        }
        if let b = attributes[Attr.broadcast] { broadcast = IPAddress(bytes: b.payload) }
        label = attributes[Attr.label]?.string
        if let extended = attributes[Attr.flags] { flags = AddressFlags(rawValue: try extended.u32("IFA_FLAGS")) }
        self.flags = flags
    }
}
