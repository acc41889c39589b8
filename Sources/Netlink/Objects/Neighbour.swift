/// `NUD_*` neighbour states.
public struct NeighbourState: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let incomplete = NeighbourState(rawValue: 0x01)
    public static let reachable = NeighbourState(rawValue: 0x02)
    public static let stale = NeighbourState(rawValue: 0x04)
    public static let delay = NeighbourState(rawValue: 0x08)
    public static let probe = NeighbourState(rawValue: 0x10)
    public static let failed = NeighbourState(rawValue: 0x20)
    public static let noARP = NeighbourState(rawValue: 0x40)
    public static let permanent = NeighbourState(rawValue: 0x80)

    public static let names: [(NeighbourState, String)] = [
        (.incomplete, "INCOMPLETE"), (.reachable, "REACHABLE"), (.stale, "STALE"), (.delay, "DELAY"),
        (.probe, "PROBE"), (.failed, "FAILED"), (.noARP, "NOARP"), (.permanent, "PERMANENT"),
    ]
}

/// `NTF_*` neighbour flags.
public struct NeighbourFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let use = NeighbourFlags(rawValue: 0x01)
    public static let `self` = NeighbourFlags(rawValue: 0x02)
    public static let master = NeighbourFlags(rawValue: 0x04)
    public static let proxy = NeighbourFlags(rawValue: 0x08)
    public static let externallyLearned = NeighbourFlags(rawValue: 0x10)
    public static let offloaded = NeighbourFlags(rawValue: 0x20)
    public static let sticky = NeighbourFlags(rawValue: 0x40)
    public static let router = NeighbourFlags(rawValue: 0x80)

    public static let names: [(NeighbourFlags, String)] = [
        (.self, "self"), (.master, "master"), (.router, "router"), (.proxy, "proxy"),
        (.externallyLearned, "extern_learn"), (.offloaded, "offload"), (.sticky, "sticky"), (.use, "use"),
    ]
}

/// `struct ndmsg` plus the attributes shared by ARP/NDP neighbours and bridge FDB entries.
struct NeighbourMessage {
    static let headerSize = 12
    var family: AddressFamily
    var index: Int32
    var state: NeighbourState
    var flags: NeighbourFlags
    var type: UInt8 = 0
    var attributes: AttributeSet?

    enum Attr {
        static let destination: UInt16 = 1, linkLayerAddress: UInt16 = 2, vlan: UInt16 = 5
        static let port: UInt16 = 6, vni: UInt16 = 7, ifindex: UInt16 = 8, master: UInt16 = 9
        static let srcVNI: UInt16 = 11, protocolAttr: UInt16 = 12
    }

    init(family: AddressFamily, index: Int32, state: NeighbourState, flags: NeighbourFlags) {
        self.family = family
        self.index = index
        self.state = state
        self.flags = flags
    }

    init(decoding message: Message) throws(WireError) {
        let reader = ByteReader(message.payload, context: "ndmsg")
        try reader.require(Self.headerSize)
        family = AddressFamily(rawValue: try reader.u8(0))
        index = try reader.i32(4)
        state = NeighbourState(rawValue: try reader.u16(8))
        flags = NeighbourFlags(rawValue: try reader.u8(10))
        type = try reader.u8(11)
        attributes = try AttributeSet(parsing: try reader.rest(from: 12), context: "neighbour")
    }

    func encodeHeader(into w: inout ByteWriter) {
        w.u8(family.rawValue)
        w.u8(0)
        w.u16(0)
        w.i32(index)
        w.u16(state.rawValue)
        w.u8(flags.rawValue)
        w.u8(type)
    }

    static func familyOf(_ message: Message) -> AddressFamily? {
        message.payload.first.map { AddressFamily(rawValue: $0) }
    }

    static func dumpRequest(family: AddressFamily, summary: String) -> Request {
        var message = MessageBuilder(type: .getNeigh, flags: [.request, .dump])
        message.body { NeighbourMessage(family: family, index: 0, state: [], flags: []).encodeHeader(into: &$0) }
        return Request(bytes: message.finish(), summary: summary)
    }
}

/// An ARP/NDP neighbour entry, like `ip neigh add 10.244.1.0 lladdr 02:.. dev weft0 nud permanent`.
/// Identity: interface index + destination address.
public struct Neighbour: NetlinkObject {
    public static let kindName = "neighbour"
    public static let family = NetlinkFamily.route
    public static let dumpReplyTypes: Set<MessageType> = [.newNeigh]

    public var index: Int32
    public var destination: IPAddress
    public var linkLayerAddress: MACAddress?
    public var state: NeighbourState
    public var flags: NeighbourFlags = []
    public var protocolID: RouteProtocol?

    public init(index: Int32, destination: IPAddress, linkLayerAddress: MACAddress?, state: NeighbourState = .permanent) {
        self.index = index
        self.destination = destination
        self.linkLayerAddress = linkLayerAddress
        self.state = state
    }

    public func request(_ operation: Operation) -> Request {
        let type: MessageType = operation == .delete ? .delNeigh : .newNeigh
        var message = MessageBuilder(type: type, flags: operation.newFlags.union([.request, .ack]))
        let header = NeighbourMessage(family: destination.family, index: index, state: state, flags: flags)
        message.body { header.encodeHeader(into: &$0) }
        message.attributes { a in
            a.bytes(NeighbourMessage.Attr.destination, destination.bytes)
            if let linkLayerAddress, operation != .delete { a.bytes(NeighbourMessage.Attr.linkLayerAddress, linkLayerAddress.bytes) }
            if let protocolID { a.u8(NeighbourMessage.Attr.protocolAttr, protocolID.rawValue) }
        }
        return Request(bytes: message.finish(), summary: "\(operation.rawValue) neighbour \(destination) ifindex \(index)")
    }

    public static func dumpRequest(family: AddressFamily) -> Request {
        NeighbourMessage.dumpRequest(family: family, summary: "dump neighbours")
    }

    /// Neighbour dumps over AF_UNSPEC also return bridge FDB entries; those are `FDBEntry`s.
    public static func isMember(_ message: Message) -> Bool {
        let family = NeighbourMessage.familyOf(message)
        return family == .inet || family == .inet6
    }

    public init(decoding message: Message) throws(WireError) {
        let raw = try NeighbourMessage(decoding: message)
        guard let attributes = raw.attributes, let dst = attributes[NeighbourMessage.Attr.destination],
              let destination = IPAddress(bytes: dst.payload) else {
            throw WireError("neighbour", "no NDA_DST of 4 or 16 bytes")
        }
        index = raw.index
        self.destination = destination
        state = raw.state
        flags = raw.flags
        if let lladdr = attributes[NeighbourMessage.Attr.linkLayerAddress] { linkLayerAddress = MACAddress(bytes: lladdr.payload) }
        if let proto = attributes[NeighbourMessage.Attr.protocolAttr] { protocolID = RouteProtocol(rawValue: try proto.u8("NDA_PROTOCOL")) }
    }
}
