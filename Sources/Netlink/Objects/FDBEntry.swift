/// A bridge forwarding-database entry on a VXLAN device (AF_BRIDGE neighbour with
/// NTF_SELF), like `bridge fdb append 02:.. dev weft0 dst 192.0.2.2 self permanent`:
/// frames for `mac` are sent to the VTEP at `destination`.
/// Identity: interface index + MAC + destination (the all-zeros MAC may have several).
public struct FDBEntry: NetlinkObject {
    public static let kindName = "fdb entry"
    public static let family = NetlinkFamily.route
    public static let dumpReplyTypes: Set<MessageType> = [.newNeigh]

    public var index: Int32
    public var mac: MACAddress
    public var destination: IPAddress?
    public var state: NeighbourState
    public var flags: NeighbourFlags
    public var vlan: UInt16?
    public var vni: UInt32?
    public var port: UInt16?
    /// NDA_IFINDEX: the underlay device to reach `destination` through.
    public var viaIndex: Int32?
    public var master: Int32?

    /// The default state is what `bridge fdb ... permanent` sends: NUD_NOARP | NUD_PERMANENT.
    public init(index: Int32, mac: MACAddress, destination: IPAddress?, state: NeighbourState = [.noARP, .permanent],
                flags: NeighbourFlags = .self) {
        self.index = index
        self.mac = mac
        self.destination = destination
        self.state = state
        self.flags = flags
    }

    public func request(_ operation: Operation) -> Request {
        let type: MessageType = operation == .delete ? .delNeigh : .newNeigh
        var message = MessageBuilder(type: type, flags: operation.newFlags.union([.request, .ack]))
        let header = NeighbourMessage(family: .bridge, index: index, state: state, flags: flags)
        message.body { header.encodeHeader(into: &$0) }
        message.attributes { a in
            a.bytes(NeighbourMessage.Attr.linkLayerAddress, mac.bytes)
            if let destination { a.bytes(NeighbourMessage.Attr.destination, destination.bytes) }
            if let vlan { a.u16(NeighbourMessage.Attr.vlan, vlan) }
            if let port { a.be16(NeighbourMessage.Attr.port, port) }
            if let vni { a.u32(NeighbourMessage.Attr.vni, vni) }
            if let viaIndex { a.i32(NeighbourMessage.Attr.ifindex, viaIndex) }
        }
        let dst = destination.map { " dst \($0)" } ?? ""
        return Request(bytes: message.finish(), summary: "\(operation.rawValue) fdb entry \(mac)\(dst) ifindex \(index)")
    }

    public static func dumpRequest(family: AddressFamily = .bridge) -> Request {
        NeighbourMessage.dumpRequest(family: .bridge, summary: "dump fdb")
    }

    public static func isMember(_ message: Message) -> Bool { NeighbourMessage.familyOf(message) == .bridge }

    public init(decoding message: Message) throws(WireError) {
        let raw = try NeighbourMessage(decoding: message)
        guard let attributes = raw.attributes, let lladdr = attributes[NeighbourMessage.Attr.linkLayerAddress],
              let mac = MACAddress(bytes: lladdr.payload) else {
            throw WireError("fdb entry", "no NDA_LLADDR of 6 bytes")
        }
        index = raw.index
        self.mac = mac
        state = raw.state
        flags = raw.flags
        if let dst = attributes[NeighbourMessage.Attr.destination] {
            guard let address = IPAddress(bytes: dst.payload) else { throw WireError("NDA_DST", "address of \(dst.payload.count) bytes") }
            destination = address
        }
        if let v = attributes[NeighbourMessage.Attr.vlan] { vlan = try v.u16("NDA_VLAN") }
        if let v = attributes[NeighbourMessage.Attr.vni] { vni = try v.u32("NDA_VNI") }
        if let p = attributes[NeighbourMessage.Attr.port] { port = try p.be16("NDA_PORT") }
        if let i = attributes[NeighbourMessage.Attr.ifindex] { viaIndex = try i.i32("NDA_IFINDEX") }
        if let m = attributes[NeighbourMessage.Attr.master] { master = try m.i32("NDA_MASTER") }
    }
}
