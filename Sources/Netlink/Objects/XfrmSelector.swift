/// `struct xfrm_selector` (56 bytes): which packets a policy or SA applies to.
public struct XfrmSelector: Hashable, Sendable {
    static let size = 56

    public var family: AddressFamily
    public var source: IPPrefix
    public var destination: IPPrefix
    public var protocolID: IPProtocol = .any
    /// Ports are matched only under their mask; 0 mask = any port.
    public var sourcePort: UInt16 = 0
    public var sourcePortMask: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var destinationPortMask: UInt16 = 0
    public var ifindex: Int32 = 0

    /// A selector matching everything of `family`.
    public init(family: AddressFamily = .unspecified) {
        self.family = family
        let zero: IPAddress = family == .inet6 ? .v6(0, 0) : .v4(0)
        source = IPPrefix(zero, 0)
        destination = IPPrefix(zero, 0)
    }

    public init(source: IPPrefix, destination: IPPrefix, protocolID: IPProtocol = .any,
                sourcePort: UInt16? = nil, destinationPort: UInt16? = nil) {
        family = source.address.family
        self.source = source
        self.destination = destination
        self.protocolID = protocolID
        if let sourcePort { self.sourcePort = sourcePort; sourcePortMask = 0xffff }
        if let destinationPort { self.destinationPort = destinationPort; destinationPortMask = 0xffff }
    }

    func encode(into w: inout ByteWriter) {
        w.append(destination.address.xfrmBytes)
        w.append(source.address.xfrmBytes)
        w.be16(destinationPort)
        w.be16(destinationPortMask)
        w.be16(sourcePort)
        w.be16(sourcePortMask)
        w.u16(UInt16(family.rawValue))
        w.u8(destination.length)
        w.u8(source.length)
        w.u8(protocolID.rawValue)
        w.zeros(3)
        w.i32(ifindex)
        w.u32(0)  // user: uid of the creating socket, set by the kernel
    }

    init(decoding r: ByteReader, at offset: Int) throws(WireError) {
        try r.require(offset + Self.size)
        family = AddressFamily(rawValue: UInt8(truncatingIfNeeded: try r.u16(offset + 40)))
        let destinationLength = try r.u8(offset + 42), sourceLength = try r.u8(offset + 43)
        destination = try xfrmPrefix(r, offset, family, destinationLength, "xfrm_selector.daddr")
        source = try xfrmPrefix(r, offset + 16, family, sourceLength, "xfrm_selector.saddr")
        destinationPort = try r.be16(offset + 32)
        destinationPortMask = try r.be16(offset + 34)
        sourcePort = try r.be16(offset + 36)
        sourcePortMask = try r.be16(offset + 38)
        protocolID = IPProtocol(rawValue: try r.u8(offset + 44))
        ifindex = try r.i32(offset + 48)
    }
}

/// Reads an `xfrm_address_t` (16 bytes; IPv4 in the first 4) for `family`.
func xfrmAddress(_ r: ByteReader, _ offset: Int, _ family: AddressFamily) throws(WireError) -> IPAddress {
    let width = family == .inet6 ? 16 : 4
    return IPAddress(bytes: try r.slice(offset, width))!
}

private func xfrmPrefix(_ r: ByteReader, _ offset: Int, _ family: AddressFamily, _ length: UInt8, _ context: String) throws(WireError) -> IPPrefix {
    let address = try xfrmAddress(r, offset, family)
    if Int(length) > address.bitWidth { throw WireError(context, "prefix length \(length) exceeds \(address.bitWidth)") }
    return IPPrefix(address, length)
}
